using System.Text;

namespace Fuzz.Instrumentation;

/// <summary>
/// Probe ids: a hash of (assembly name, method token, IL offset) folded to 16 bits, so an id depends
/// only on where the probe is, never on the order of instrumentation or on other assemblies.
/// </summary>
public static class ProbeIds
{
    public static int For(string assemblyName, uint methodToken, int ilOffset)
    {
        ulong h = 0xcbf29ce484222325UL;
        foreach (byte b in Encoding.UTF8.GetBytes(assemblyName)) h = (h ^ b) * 0x100000001b3UL;
        h = Mix(h ^ methodToken);
        h = Mix(h ^ (uint)ilOffset);
        return (int)(h & 0xFFFF);
    }

    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9UL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebUL;
        return z ^ (z >> 31);
    }
}
