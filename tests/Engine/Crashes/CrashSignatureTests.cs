using Fuzz.Engine.Crashes;
using Fuzz.Engine.Input;
using Fuzz.Engine.Invariants;
using Fuzz.Engine.Scheduling;
using Fuzz.Tests.Engine.Corpus;
using Xunit;

namespace Fuzz.Tests.Engine.Crashes;

public class CrashSignatureTests
{
    private static readonly RuntimeInvariants Invariants = new(7, "safe free", 9, "liveness");

    /// <summary>a(x) on thread 0, b() on thread 1.</summary>
    private static readonly ProgramInput TwoThreads = new(2, 0, [new(0, 0, 3, 0, 0, 0), new(1, 1, 0, 0, 0, 0)], [1, 0]);

    private static CrashKey Violation(string site, string operation = "a") => CrashKey.Of(7, site, runtimeDetector: false, operation);

    private static string Sign(CrashKey key, ProgramInput p, int preemptions = 1) =>
        CrashSignature.Compute(key, p, preemptions, Toy.Vocabulary);

    [Fact]
    public void A_signature_is_the_invariant_the_site_slug_and_a_hash_of_the_shape()
    {
        Assert.Equal("inv7-Checker_check_rmap-5a39b7fa", Sign(Violation("Checker.check_rmap"), TwoThreads));
        Assert.Matches("^inv7-mmu_page_fault-[0-9a-f]{8}$", Sign(Violation("mmu_page_fault"), TwoThreads));
    }

    [Fact]
    public void The_site_slug_keeps_letters_digits_and_underscores()
    {
        Assert.StartsWith("inv7-kvm_mmu_2_zap_gfn_range__x-", Sign(Violation("kvm.mmu 2/zap(gfn-range) x"), TwoThreads));
    }

    [Fact]
    public void The_same_violation_and_shape_give_the_same_signature()
    {
        var reordered = new ProgramInput(2, 5, [new(1, 1, 0, 0, 0, 0), new(0, 0, 7, 0, 0, 0)], [9, 9, 9]);
        Assert.Equal(Sign(Violation("site"), TwoThreads), Sign(Violation("site"), TwoThreads));
        Assert.Equal(Sign(Violation("site"), TwoThreads), Sign(Violation("site", "b"), reordered));
    }

    [Fact]
    public void A_different_invariant_site_or_shape_gives_a_different_signature()
    {
        string sig = Sign(Violation("site"), TwoThreads);
        var oneThread = new ProgramInput(1, 0, [new(0, 0, 3, 0, 0, 0), new(0, 1, 0, 0, 0, 0)], []);
        var moreOps = new ProgramInput(2, 0, [.. TwoThreads.Ops, new(1, 1, 0, 0, 0, 0)], []);
        string[] others =
        [
            Sign(new CrashKey(8, "site"), TwoThreads),
            Sign(Violation("other_site"), TwoThreads),
            Sign(Violation("site"), oneThread),
            Sign(Violation("site"), moreOps),
            Sign(Violation("site"), TwoThreads, preemptions: 2),
        ];
        Assert.All(others, o => Assert.NotEqual(sig, o));
        Assert.Equal(others.Length, others.Distinct().Count());
    }

    [Fact]
    public void A_fault_in_simulated_memory_is_named_by_the_operation_that_ran()
    {
        InvariantViolation UseAfterFree(string operation)
        {
            var m = new Machine(Invariants);
            ulong p = m.Memory.Alloc(1, 0);
            Co Body()
            {
                m.Current!.OperationName = operation;
                m.Memory.Free(p);
                yield return null;
                m.Memory.Read(p);
            }
            m.Spawn("t0", Body());
            return Assert.Throws<InvariantViolation>(() => m.Run(new InputStrategy([])));
        }
        var zap = UseAfterFree("zap");
        var age = UseAfterFree("age");

        Assert.True(zap.RuntimeDetector);
        Assert.Equal(new CrashKey(7, "SimMemory", "zap"), zap.Key);
        Assert.StartsWith("inv7-SimMemory_in_zap-", Sign(zap.Key, TwoThreads));
        Assert.StartsWith("inv7-SimMemory_in_age-", Sign(age.Key, TwoThreads));
    }

    [Fact]
    public void A_model_site_is_not_renamed_by_the_operation_and_no_site_falls_back_to_the_operation()
    {
        Assert.Equal(Sign(Violation("check_rmap", "zap"), TwoThreads), Sign(Violation("check_rmap", "age"), TwoThreads));
        Assert.StartsWith("inv7-zap-", Sign(Violation("", "zap"), TwoThreads));
        Assert.StartsWith("inv7-unknown-", Sign(Violation("", ""), TwoThreads));
    }
}
