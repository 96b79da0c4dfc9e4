namespace Fuzz.Engine.Cluster.Contract;

/// <summary>The presence checks behind <see cref="IFarmMessage.IsWellFormed"/>.</summary>
internal static class WellFormed
{
    public static bool Items<T>(T[]? items, Func<T, bool> isWellFormed) where T : class
    {
        if (items is null) return false;
        foreach (var item in items)
            if (item is null || !isWellFormed(item)) return false;
        return true;
    }

    public static bool Strings(string[]? items) => Items(items, _ => true);
}
