using AutoSaveRollout.Core.Lifecycle;
using AutoSaveRollout.Core.Pipeline;
using AutoSaveRollout.Hosting;
using AutoSaveRollout.Tests.Support;
using AutoSaveRollout.Core.Storage;

namespace AutoSaveRollout.Tests.Lifecycle;

/// <summary>
/// The lifecycle on Azure Storage (Azurite over REST: the audit log as an append blob, the state and ledger by ETag, the
/// tick's lock as a blob lease) behaves exactly as on the embedded default.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class LifecycleAzuriteTests(AzuriteFixture azurite)
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 2, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task Escalation_scenario_on_Azurite_sends_and_records_exactly_what_the_embedded_default_does()
    {
        await using var embedded = await LifecycleScenario.StartAsync(T0);
        await LifecycleScenarioTests.EscalationScenarioAsync(embedded);

        await using var onAzure = await LifecycleScenario.StartAsync(T0, StorageSelection.Azure(azurite.ConnectionString));
        await LifecycleScenarioTests.EscalationScenarioAsync(onAzure);

        Assert.Equal(embedded.SlackPosts(), onAzure.SlackPosts());
        Assert.Equal(Bodies(embedded.Flags), Bodies(onAzure.Flags));
        Assert.Equal(Bodies(embedded.PagerDuty.Server), Bodies(onAzure.PagerDuty.Server));
        Assert.Equal(Json.ToBytes(await embedded.AuditAsync()), Json.ToBytes(await onAzure.AuditAsync()));
        Assert.Equal(Json.ToBytes(await embedded.LedgerAsync()), Json.ToBytes(await onAzure.LedgerAsync()));
        Assert.Equal(Json.ToBytes(await embedded.StateAsync()), Json.ToBytes(await onAzure.StateAsync()));
    }

    private static string[] Bodies(RecordingServer server) =>
        server.Requests.Select(r => $"{r.Method} {r.Path}{r.QueryString} {r.Header("Idempotency-Key")} {r.Body}").ToArray();
}
