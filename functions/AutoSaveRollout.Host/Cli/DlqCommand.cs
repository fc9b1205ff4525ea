using System.CommandLine;
using System.Globalization;
using AutoSaveRollout.Core.Pipeline;
using AutoSaveRollout.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Spectre.Console;

namespace AutoSaveRollout.Host.Cli;

/// <summary>
/// <c>dlq list | retry &lt;id&gt; | purge --older-than &lt;days&gt;</c>: the poison queues of <c>autosave-analyze</c> and
/// <c>autosave-report</c>, on the embedded store or Azure (<c>--storage</c>, <c>--connection</c>, as for <c>run</c>). The
/// logic lives in <see cref="DeadLetterService"/>; this is the console front.
/// </summary>
internal static class DlqCommand
{
    public static Command Create()
    {
        var command = new Command("dlq", "dead letters: list, retry or purge the messages in the pipeline's poison queues");
        command.Add(CreateList());
        command.Add(CreateRetry());
        command.Add(CreatePurge());
        return command;
    }

    private sealed record StorageOptions(Option<string> Store, Option<string> Kind, Option<string?> Connection, Option<string> HostJson, Option<string?> Queue)
    {
        public static StorageOptions AddTo(Command command)
        {
            var o = new StorageOptions(
                CliSupport.StoreOption(PipelineFactory.DefaultStorageRoot),
                CliSupport.StorageKindOption(),
                CliSupport.ConnectionOption(),
                new Option<string>("--host-json") { Description = "host.json (its queue message encoding)", DefaultValueFactory = _ => "host.json" },
                new Option<string?>("--queue") { Description = $"only this queue: {string.Join(" or ", DeadLetterService.PipelineQueues)} (default: both)" });
            command.Add(o.Store);
            command.Add(o.Kind);
            command.Add(o.Connection);
            command.Add(o.HostJson);
            command.Add(o.Queue);
            return o;
        }

        /// <summary>
        /// The storage-only pipeline on the selected storage and its service; validates <c>--queue</c>. Throws
        /// <see cref="ConfigurationException"/> or <see cref="DirectoryNotFoundException"/> (exit 2). Dispose the pipeline when done.
        /// </summary>
        public (ServiceProvider Pipeline, DeadLetterService Service) Open(ParseResult parse, TimeProvider time)
        {
            var config = PipelineFactory.LoadConfiguration();
            var storage = PipelineFactory.SelectStorage(config, parse.GetValue(Kind), parse.GetValue(Store)!, parse.GetValue(Connection));
            if (storage.Kind == StorageKind.Embedded && !Directory.Exists(storage.Root))
                throw new DirectoryNotFoundException($"no pipeline data in {Path.GetFullPath(storage.Root!)} (pass --store, or --storage azure)");
            var settings = HostJsonSettings.Load(parse.GetValue(HostJson)!);
            var pipeline = CliSupport.OpenPipeline(config, new RolloutHostOptions
            {
                Storage = storage, Time = time, StorageOnly = true, MessageEncoding = settings.MessageEncoding,
            });
            var service = pipeline.GetRequiredService<DeadLetterService>();
            try { service.SelectQueues(parse.GetValue(Queue)); }
            catch (ArgumentException ex)
            {
                pipeline.Dispose();
                throw new ConfigurationException(ex.Message);
            }
            return (pipeline, service);
        }
    }

    private static Command CreateList()
    {
        var command = new Command("list", "list dead letters: id, queue, inserted, deliveries, whether the last error was permanent, last error");
        var options = StorageOptions.AddTo(command);
        command.SetAction((parse, ct) => CliSupport.GuardAsync(async () =>
        {
            var (pipeline, service) = options.Open(parse, TimeProvider.System);
            await using var _ = pipeline;
            var queue = parse.GetValue(options.Queue);
            var letters = await service.ListAsync(queue, ct);
            var console = CliSupport.CreateConsole();
            var queues = service.SelectQueues(queue);
            if (letters.Count == 0)
            {
                console.WriteLine("no dead letters in " + string.Join(", ", queues.Select(QueueProcessor.PoisonQueueName)));
                return CliSupport.Success;
            }
            var table = new Table().Border(TableBorder.Simple);
            foreach (var c in new[] { "id", "queue", "inserted (UTC)", "deliveries", "permanent", "last error" }) table.AddColumn(CliSupport.Column(c, new[] { "id", "queue", "inserted (UTC)" }));
            foreach (var d in letters)
            {
                table.AddRow(Markup.Escape(d.Id), Markup.Escape(d.Queue), d.InsertedAt.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture),
                    d.DequeueCount?.ToString(CultureInfo.InvariantCulture) ?? "?", d.Permanent switch { true => "yes", false => "no", null => "unknown" },
                    Markup.Escape(CliSupport.OneLine(d.LastError)));
            }
            console.Write(table);
            console.WriteLine($"{letters.Count} dead letter(s): " + string.Join(", ", queues.Select(q => $"{q} {letters.Count(d => d.Queue == q)}")));
            return CliSupport.Success;
        }));
        return command;
    }

    private static Command CreateRetry()
    {
        var id = new Argument<string>("id") { Description = "the dead letter's id (from dlq list)" };
        var command = new Command("retry", "move a dead letter back to its queue (warns when its last error was permanent)") { id };
        var options = StorageOptions.AddTo(command);
        command.SetAction((parse, ct) => CliSupport.GuardAsync(async () =>
        {
            var (pipeline, service) = options.Open(parse, TimeProvider.System);
            await using var _ = pipeline;
            var queue = parse.GetValue(options.Queue);
            var messageId = parse.GetValue(id)!;
            var result = await service.RetryAsync(messageId, queue, ct)
                ?? throw new ConfigurationException($"no dead letter with id {messageId} in {string.Join(", ", service.SelectQueues(queue).Select(QueueProcessor.PoisonQueueName))}");
            var d = result.Retried;
            if (d.Permanent == true)
            {
                Console.Error.WriteLine($"WARNING: the last error was permanent ({CliSupport.OneLine(d.LastError)}). Unless its cause was fixed " +
                                        "(configuration, credentials, input), the message will fail again and return to the poison queue.");
            }
            Console.WriteLine($"retried {d.Id}: {d.PoisonQueue} → {d.Queue} as message {result.NewMessageId}");
            return CliSupport.Success;
        }));
        return command;
    }

    private static Command CreatePurge()
    {
        var olderThan = new Option<int>("--older-than") { Description = "delete dead letters inserted more than this many days ago (0: all)", Required = true };
        var command = new Command("purge", "delete old dead letters; prints how many were removed and kept") { olderThan };
        var options = StorageOptions.AddTo(command);
        command.SetAction((parse, ct) => CliSupport.GuardAsync(async () =>
        {
            var days = parse.GetValue(olderThan);
            if (days < 0) throw new ConfigurationException($"--older-than must be a number of days ≥ 0 (got {days})");
            var (pipeline, service) = options.Open(parse, TimeProvider.System);
            await using var _ = pipeline;
            var result = await service.PurgeAsync(TimeSpan.FromDays(days), parse.GetValue(options.Queue), ct);
            Console.WriteLine($"removed {result.Removed}, kept {result.Kept} (removed: inserted before {result.Cutoff.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture)} UTC)");
            return CliSupport.Success;
        }));
        return command;
    }
}
