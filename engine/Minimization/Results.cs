using Fuzz.Engine.Crashes;
using Fuzz.Engine.Input;

namespace Fuzz.Engine.Minimization;

public sealed record MinimizeResult(
    ProgramInput Original, ProgramInput Minimized, CrashKey Key, ProgramShape Before, ProgramShape After,
    int Executions, TimeSpan Elapsed, bool TimedOut);
