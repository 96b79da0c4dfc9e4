namespace Fuzz.Engine.Mutation;

/// <summary>What one mutation step did to a program.</summary>
public enum MutationKind
{
    InsertOp,
    DeleteOp,
    DuplicateOp,
    SwapOps,
    ChangeArg,
    MoveOpToThread,
    ChangeThreads,
    Splice,
    ChoiceFlip,
    ChoiceInsertPreemption,
    ChoiceShiftSwitch,
    ChoiceTruncate,
    ChoiceExtend,
    ChangeConfig,
    Havoc,
}
