using System.Text.Json.Nodes;
using AutoSaveRollout.Core.Pipeline;
using AutoSaveRollout.Core.Policy;
using AutoSaveRollout.Core.Reliability;
using AutoSaveRollout.Core.Reporting;
using AutoSaveRollout.Core.State;
using AutoSaveRollout.Tests.EndToEnd;
using AutoSaveRollout.Tests.Support;
using AutoSaveRollout.Core.Outboxes;
using AutoSaveRollout.Core.Storage;
using AutoSaveRollout.Core.Gates;

namespace AutoSaveRollout.Tests.Reliability;

/// <summary>
/// Fault injection on the local Slack, PagerDuty and flag-service stand-ins while replaying the phase-A violation fixture:
/// the pipeline recovers and still pages once and rolls back once per violation.
/// </summary>
public sealed class RetryEndToEndTests
{
    private const string Fixture = "autosave_phaseA_violation.jsonl";

    // Production retry counts with short waits, so a test takes milliseconds (Retry-After is still honoured as sent).
    private static RetryPolicy FastRetries(List<RetryAttempt>? seen = null)
    {
        var o = new RetryOptions { Random = RetryOptions.Seeded(1) };
        var policy = new RetryPolicy(o with
        {
            Slack = o.Slack with { BaseDelay = TimeSpan.FromMilliseconds(20) },
            PagerDuty = o.PagerDuty with { BaseDelay = TimeSpan.FromMilliseconds(20) },
            FlagService = o.FlagService with { BaseDelay = TimeSpan.FromMilliseconds(20) },
        });
        if (seen is not null) policy.Retrying += a => { lock (seen) seen.Add(a); };
        return policy;
    }

    private static void AssertOnePageOneRollback(PipelineHarness h)
    {
        Assert.Single(h.PagerDuty.Requests.Select(r => (string?)r.JsonBody()!["dedup_key"]).Distinct());
        Assert.Single(h.Flags.Requests.Select(r => r.Header("Idempotency-Key")).Distinct());
        Assert.Single(h.ReadStoreText(StorePaths.Runbook).TrimEnd('\n').Split('\n'));
        Assert.Equal("", h.ReadStoreText(QueueProcessor.DeadLetterLog));
    }

    private static async Task<RolloutState> StateAsync(PipelineHarness h) =>
        (await new JsonRecordStore<RolloutState>(h.Ports.Blobs, StorePaths.RolloutState).ReadAsync()).Value!;

    [Fact]
    public async Task Slack_429_with_retry_after_is_waited_out_then_posted_once()
    {
        var seen = new List<RetryAttempt>();
        await using var h = await PipelineHarness.StartAsync(retries: FastRetries(seen));
        h.Slack.Enqueue(PipelineHarness.IncidentHook, ScriptedResponse.TooManyRequests(1));
        var results = await h.ReplayAsync(Fixture, Phase.A);

        var posts = h.Slack.RequestsTo(PipelineHarness.IncidentHook);
        Assert.Equal(2, posts.Count);
        Assert.Equal(posts[0].Body, posts[1].Body);
        Assert.True(posts[1].ReceivedAt - posts[0].ReceivedAt >= TimeSpan.FromSeconds(0.95), $"waited {posts[1].ReceivedAt - posts[0].ReceivedAt}");
        var retry = Assert.Single(seen);
        Assert.Equal(("slack", 429, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1)), (retry.Target, retry.StatusCode, retry.RetryAfter, retry.Delay));
        var outbox = results.Single(r => r.Decision!.RollbackRequired).Outbox!;
        Assert.All(outbox.Actions, a => Assert.Equal(ActionStatus.Done, a.Status));
        Assert.Equal(1, outbox.Actions.Single(a => a.Kind == ActionKind.Slack).Attempts); // one delivery, retried inside it
        AssertOnePageOneRollback(h);
        Assert.Single(h.PagerDuty.Requests);
        Assert.Single(h.Flags.Requests);
    }

    [Fact]
    public async Task PagerDuty_429_then_202_pages_once_under_one_dedup_key()
    {
        var seen = new List<RetryAttempt>();
        await using var h = await PipelineHarness.StartAsync(retries: FastRetries(seen));
        h.PagerDuty.Enqueue("/v2/enqueue", ScriptedResponse.Json(429, """{"status":"throttle event","message":"Requests for this service are arriving too quickly."}"""));
        await h.ReplayAsync(Fixture, Phase.A);

        var events = h.PagerDuty.Requests;
        Assert.Equal(2, events.Count);
        Assert.Equal(events[0].Body, events[1].Body);            // the same event, same dedup_key
        Assert.Equal("autosave/A/20261120T0900Z", (string?)events[0].JsonBody()!["dedup_key"]);
        Assert.Equal(["pagerduty"], seen.Select(s => s.Target));
        Assert.Single(h.Slack.RequestsTo(PipelineHarness.IncidentHook));
        Assert.Single(h.Flags.Requests);
        AssertOnePageOneRollback(h);
    }

    [Fact]
    public async Task A_flag_service_timeout_is_retried_with_the_same_idempotency_key_and_rolls_back_once()
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(1) };
        var seen = new List<RetryAttempt>();
        await using var h = await PipelineHarness.StartAsync(retries: FastRetries(seen), http: http);
        h.Flags.Enqueue("/flags/autosave/rollback", ScriptedResponse.Json(200, "{}") with { Delay = TimeSpan.FromSeconds(5) });
        var results = await h.ReplayAsync(Fixture, Phase.A);

        var calls = h.Flags.RequestsTo("/flags/autosave/rollback");
        Assert.Equal(2, calls.Count);                            // timed out, then answered
        var violation = results.Single(r => r.Decision?.Status == DecisionStatus.Violation).Decision!;
        Assert.StartsWith("dec-20261120T0900Z-A-", violation.DecisionId);
        Assert.Equal([violation.DecisionId], calls.Select(c => c.Header("Idempotency-Key")).Distinct());
        Assert.Equal(calls[0].Body, calls[1].Body);
        var retry = Assert.Single(seen);
        Assert.Equal("flag-service", retry.Target);
        Assert.Null(retry.StatusCode);
        Assert.Contains("timed out", retry.Error);
        AssertOnePageOneRollback(h);
        Assert.Equal("off", (await StateAsync(h)).Phase);
        Assert.Equal(1, results.Count(r => r.Decision!.RollbackRequired));
    }

    [Theory]
    [InlineData("slack")]
    [InlineData("pagerduty")]
    public async Task Permanent_4xx_is_not_retried_by_the_policy_but_the_report_is_redelivered(string target)
    {
        var seen = new List<RetryAttempt>();
        await using var h = await PipelineHarness.StartAsync(retries: FastRetries(seen));
        if (target == "slack") h.Slack.Enqueue(PipelineHarness.IncidentHook, ScriptedResponse.SlackError(403, "action_prohibited"));
        else h.PagerDuty.Enqueue("/v2/enqueue", ScriptedResponse.PagerDutyInvalid("Event object is invalid"));
        var results = await h.ReplayAsync(Fixture, Phase.A);

        Assert.Empty(seen);                                      // no in-process retry of a 4xx
        var requests = target == "slack" ? h.Slack.RequestsTo(PipelineHarness.IncidentHook) : h.PagerDuty.Requests;
        Assert.Equal(2, requests.Count);                         // the failed delivery, then the queue's redelivery
        var outbox = results.Single(r => r.Decision!.RollbackRequired).Outbox!;
        Assert.All(outbox.Actions, a => Assert.Equal(ActionStatus.Done, a.Status));
        Assert.Equal(2, outbox.Actions.Single(a => a.Kind == (target == "slack" ? ActionKind.Slack : ActionKind.PagerDuty)).Attempts);
        Assert.Single(h.Flags.Requests);                         // the other actions were not repeated
        AssertOnePageOneRollback(h);
    }

    [Fact]
    public async Task Every_outward_call_failing_once_still_gives_one_post_one_page_one_rollback_and_one_runbook_line()
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(1) };
        var seen = new List<RetryAttempt>();
        await using var h = await PipelineHarness.StartAsync(retries: FastRetries(seen), http: http);
        h.Slack.Enqueue(PipelineHarness.IncidentHook, ScriptedResponse.Text(500, "rollup_error"));
        h.PagerDuty.Enqueue("/v2/enqueue", ScriptedResponse.Json(503, "{}"), ScriptedResponse.Json(429, "{}"));
        h.Flags.Enqueue("/flags/autosave/rollback", ScriptedResponse.Json(200, "{}") with { Delay = TimeSpan.FromSeconds(5) }, ScriptedResponse.Json(502, "{}"));
        await h.ReplayAsync(Fixture, Phase.A);

        Assert.Equal(2, h.Slack.RequestsTo(PipelineHarness.IncidentHook).Count);
        Assert.Equal(3, h.PagerDuty.Requests.Count);
        Assert.Equal(3, h.Flags.Requests.Count);
        Assert.Equal(["slack", "pagerduty", "pagerduty", "flag-service", "flag-service"], seen.Select(s => s.Target));
        AssertOnePageOneRollback(h);
        Assert.Equal("off", (await StateAsync(h)).Phase);
        var dashboard = JsonNode.Parse(h.ReadStoreText(StorePaths.Dashboard))!;
        Assert.Equal("off", (string?)dashboard["phase"]);
        Assert.DoesNotContain(PipelineHarness.FlagToken, h.AllStoredText());
    }
}
