namespace Fuzz.Engine.Memory;

public enum AccessKind : byte { Read, Write, ReadModifyWrite }

/// <summary>One access to a word: the actor, its role (see <c>Actor.Role</c>) and how it touched the word.</summary>
public readonly record struct Access(int Actor, int Role, AccessKind Kind);
