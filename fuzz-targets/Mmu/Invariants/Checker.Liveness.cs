namespace Fuzz.Targets.Mmu;

/// <summary>Invariant 18: a zap that may block does not hold a contended mmu_lock for long.</summary>
internal sealed partial class Checker
{
    private int _mayBlockDepth;

    public void BeginMayBlockZap(bool mayBlock) { if (mayBlock) _mayBlockDepth++; }

    public void OnZapStep()
    {
        if (_mayBlockDepth > 0 && _kvm.MmuLock.Contended && _kvm.Self.Steps - _kvm.MmuLock.AcquiredAtOwnStep > Kvm.YieldBoundSteps)
            throw Fail(Invariant.Liveness, "__walk_slot_rmaps", $"zap that may block ran more than {Kvm.YieldBoundSteps} of its own steps holding contended mmu_lock without yielding");
    }

    public void EndMayBlockZap()
    {
        if (_mayBlockDepth > 0) _mayBlockDepth--;
    }
}
