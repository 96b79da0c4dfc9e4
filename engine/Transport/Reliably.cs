namespace Fuzz.Engine.Transport;

public static class Reliably
{
    /// <summary>
    /// Publishes (or appends) until the broker confirms: a failure is logged every tenth attempt and
    /// retried after a pause; only <paramref name="cancel"/> ends it early.
    /// </summary>
    public static async Task SendAsync(Func<CancellationToken, Task> send, string what, Action<string>? log, CancellationToken cancel)
    {
        for (int attempt = 0; ; attempt++)
        {
            try
            {
                await send(cancel).ConfigureAwait(false);
                return;
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancel.IsCancellationRequested)
            {
                if (attempt % 10 == 0) log?.Invoke($"{what} failed ({e.GetType().Name}: {e.Message}); retrying");
                await Task.Delay(200, cancel).ConfigureAwait(false);
            }
        }
    }
}
