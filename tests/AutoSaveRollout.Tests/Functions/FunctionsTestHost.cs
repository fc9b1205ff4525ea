using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Reflection;
using System.Text;
using System.Text.Json;
using AutoSaveRollout.Tests.Functions.Rpc;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace AutoSaveRollout.Tests.Functions;

/// <summary>
/// Stands where the Azure Functions host stands for an isolated .NET worker: a gRPC server (Kestrel, HTTP/2 cleartext on
/// 127.0.0.1) speaking the host side of <c>FunctionRpc.EventStream</c>, and the worker process it starts the way the host
/// does (<c>dotnet AutoSaveRollout.Functions.dll --functions-uri … --functions-worker-id … --functions-request-id …
/// --functions-grpc-max-message-length …</c>, app settings as environment variables, <c>FUNCTIONS_APPLICATION_DIRECTORY</c>).
/// After <c>StartStream</c> it sends <c>WorkerInitRequest</c>, <c>FunctionsMetadataRequest</c> (worker indexing) and one
/// <c>FunctionLoadRequest</c> per function, then invocations with trigger data shaped as the host's
/// (<c>GrpcMessageConversionExtensions.ToRpc</c> in Azure/azure-functions-host: strings as <c>string</c>, other values as
/// Newtonsoft JSON). Collects the worker's <c>RpcLog</c>s and its console output.
/// </summary>
public sealed class FunctionsTestHost : IAsyncDisposable
{
    /// <summary>Host version sent in <c>WorkerInitRequest</c> (a 4.x host).</summary>
    public const string HostVersion = "4.1037.0";

    /// <summary>gRPC message limit passed to the worker and used by the server, as the host does (it defaults to int.MaxValue).</summary>
    public const int MaxMessageLength = int.MaxValue;

    private readonly WebApplication _server;
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly ConcurrentQueue<RpcLog> _logs = new();
    private readonly ConcurrentDictionary<string, TaskCompletionSource<StreamingMessage>> _pending = new();
    private readonly TaskCompletionSource<IServerStreamWriter<StreamingMessage>> _connected = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _streamDone = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly Dictionary<string, RpcFunctionMetadata> _functions = new(StringComparer.Ordinal);
    private readonly Stopwatch _sinceStart = new();

    private FunctionsTestHost(WebApplication server, Process process, string workerId)
    {
        _server = server;
        _process = process;
        WorkerId = workerId;
    }

    /// <summary>Folder of the built worker (the test project builds it through a project reference).</summary>
    public static string WorkerDirectory { get; } = typeof(FunctionsTestHost).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(a => a.Key == "FunctionsWorkerDirectory").Value!;

    /// <summary>Worker id passed on the command line and expected in <c>StartStream</c>.</summary>
    public string WorkerId { get; }

    /// <summary>Process start → <c>StartStream</c> received.</summary>
    public TimeSpan ConnectedAfter { get; private set; }

    /// <summary>Process start → <c>WorkerInitResponse</c> received.</summary>
    public TimeSpan InitializedAfter { get; private set; }

    /// <summary>Process start → every <c>FunctionLoadResponse</c> received.</summary>
    public TimeSpan LoadedAfter { get; private set; }

    /// <summary>Time since the worker process was started.</summary>
    public TimeSpan SinceStart => _sinceStart.Elapsed;

    /// <summary>The <c>WorkerInitResponse</c>.</summary>
    public WorkerInitResponse? Init { get; private set; }

    /// <summary>Function metadata the worker reported, by name.</summary>
    public IReadOnlyDictionary<string, RpcFunctionMetadata> Functions => _functions;

    /// <summary>Every <c>RpcLog</c> the worker sent so far.</summary>
    public IReadOnlyList<RpcLog> Logs => _logs.ToArray();

    /// <summary>The worker's stdout and stderr so far.</summary>
    public string Output
    {
        get { lock (_output) return _output.ToString(); }
    }

    /// <summary>True once the worker process has exited.</summary>
    public bool HasExited => _process.HasExited;

    /// <summary>
    /// Starts the gRPC server and the worker with <paramref name="settings"/> as environment variables (app settings,
    /// <c>__</c> for <c>:</c>), and, when <paramref name="initialize"/>, initializes it and loads every function. Throws
    /// <see cref="WorkerExitedException"/> when the worker exits first, <see cref="TimeoutException"/> after <paramref name="timeout"/>
    /// (default 60 s).
    /// </summary>
    public static async Task<FunctionsTestHost> StartAsync(IReadOnlyDictionary<string, string> settings, bool initialize = true, TimeSpan? timeout = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, o => o.Protocols = HttpProtocols.Http2));
        builder.Services.AddGrpc(o =>
        {
            o.MaxReceiveMessageSize = null;
            o.MaxSendMessageSize = null;
        });
        FunctionsTestHost? host = null;
        builder.Services.AddSingleton(_ => new HostRpcService(() => host!));
        var server = builder.Build();
        server.MapGrpcService<HostRpcService>();
        await server.StartAsync();
        var port = new Uri(server.Urls.Single()).Port;

        var workerDir = WorkerDirectory;
        var dll = Path.Combine(workerDir, "AutoSaveRollout.Functions.dll");
        if (!File.Exists(dll))
        {
            await server.DisposeAsync();
            throw new InvalidOperationException($"the Functions worker is not built ({dll} is missing): build the test project (it references the worker)");
        }
        var workerId = Guid.NewGuid().ToString();
        var psi = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workerDir,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[]
                 {
                     dll, "--functions-uri", $"http://127.0.0.1:{port}/", "--functions-worker-id", workerId,
                     "--functions-request-id", Guid.NewGuid().ToString(), "--functions-grpc-max-message-length", MaxMessageLength.ToString(),
                 })
            psi.ArgumentList.Add(arg);
        // What the host sets for a worker, then the app settings. No setting of ours leaks in from the test runner's
        // environment: only those given here.
        foreach (var key in psi.Environment.Keys.Where(IsAppSetting).ToList()) psi.Environment.Remove(key);
        psi.Environment["FUNCTIONS_WORKER_RUNTIME"] = "dotnet-isolated";
        psi.Environment["FUNCTIONS_APPLICATION_DIRECTORY"] = workerDir;
        psi.Environment["FUNCTIONS_WORKER_DIRECTORY"] = workerDir;
        psi.Environment["AZURE_FUNCTIONS_ENVIRONMENT"] = "Development";
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        foreach (var (k, v) in settings) psi.Environment[k] = v;

        var process = new Process { StartInfo = psi, EnableRaisingEvents = true };
        host = new FunctionsTestHost(server, process, workerId);
        process.OutputDataReceived += (_, e) => host.Append(e.Data);
        process.ErrorDataReceived += (_, e) => host.Append(e.Data);
        host._sinceStart.Start();
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await host.ConnectAsync(timeout ?? TimeSpan.FromSeconds(60));
            if (initialize) await host.InitializeAsync();
            return host;
        }
        catch
        {
            await host.DisposeAsync();
            throw;
        }
    }

    private static readonly string[] AppSettingPrefixes =
    [
        "AzureWebJobs", "PipelineStorage", "CollectorSchedule", "LifecycleSchedule", "Policy__", "Reporter__", "Analyzer__", "Telemetry__",
        "Slack__", "PagerDuty__", "FlagService__", "AutoSave__", "APPLICATIONINSIGHTS_",
    ];

    private static bool IsAppSetting(string name) => AppSettingPrefixes.Any(p => name.StartsWith(p, StringComparison.OrdinalIgnoreCase));

    /// <summary>Waits for the worker's <c>StartStream</c>.</summary>
    private async Task ConnectAsync(TimeSpan timeout)
    {
        var exited = _process.WaitForExitAsync();
        var first = await Task.WhenAny(_connected.Task, exited, Task.Delay(timeout));
        if (first == exited)
        {
            await Task.Delay(200); // let the output readers drain
            throw new WorkerExitedException(_process.ExitCode, Output);
        }
        if (first != _connected.Task) throw new TimeoutException($"the worker did not connect within {timeout}; output:\n{Output}");
        ConnectedAfter = _sinceStart.Elapsed;
    }

    /// <summary>Sends <c>WorkerInitRequest</c>, <c>FunctionsMetadataRequest</c> and a <c>FunctionLoadRequest</c> per function; throws when one fails.</summary>
    public async Task InitializeAsync()
    {
        var init = await RequestAsync(new StreamingMessage
        {
            WorkerInitRequest = new WorkerInitRequest
            {
                HostVersion = HostVersion,
                WorkerDirectory = WorkerDirectory,
                FunctionAppDirectory = WorkerDirectory,
            },
        });
        Init = init.WorkerInitResponse;
        InitializedAfter = _sinceStart.Elapsed;
        EnsureSuccess(Init.Result, "WorkerInitResponse");

        var metadata = (await RequestAsync(new StreamingMessage
        {
            FunctionsMetadataRequest = new FunctionsMetadataRequest { FunctionAppDirectory = WorkerDirectory },
        })).FunctionMetadataResponse;
        EnsureSuccess(metadata.Result, "FunctionMetadataResponse");
        foreach (var f in metadata.FunctionMetadataResults)
        {
            if (string.IsNullOrEmpty(f.FunctionId)) f.FunctionId = Guid.NewGuid().ToString();
            f.Directory = WorkerDirectory;
            _functions[f.Name] = f;
        }
        foreach (var f in _functions.Values)
        {
            var load = (await RequestAsync(new StreamingMessage
            {
                FunctionLoadRequest = new FunctionLoadRequest { FunctionId = f.FunctionId, Metadata = f },
            })).FunctionLoadResponse;
            EnsureSuccess(load.Result, $"FunctionLoadResponse for {f.Name}");
        }
        LoadedAfter = _sinceStart.Elapsed;
    }

    /// <summary>
    /// Invokes the timer function <paramref name="function"/> with the <c>TimerInfo</c> the host passes (Newtonsoft JSON of
    /// WebJobs' TimerInfo: Schedule, ScheduleStatus {Last, Next, LastUpdated}, IsPastDue).
    /// </summary>
    public Task<InvocationResponse> InvokeTimerAsync(string function, bool isPastDue = false, DateTimeOffset? now = null)
    {
        var at = (now ?? DateTimeOffset.UtcNow).UtcDateTime;
        var timerInfo = JsonSerializer.Serialize(new
        {
            Schedule = new { AdjustForDST = true },
            ScheduleStatus = new
            {
                Last = at.AddMinutes(-5).ToString("yyyy-MM-ddTHH:mm:ss.fffffffZ"),
                Next = at.AddMinutes(5).ToString("yyyy-MM-ddTHH:mm:ss.fffffffZ"),
                LastUpdated = at.ToString("yyyy-MM-ddTHH:mm:ss.fffffffZ"),
            },
            IsPastDue = isPastDue,
        });
        var request = NewInvocation(function);
        request.InputData.Add(new ParameterBinding { Name = BindingName(function), Data = new TypedData { Json = timerInfo } });
        request.TriggerMetadata["timer"] = new TypedData { Json = timerInfo };
        AddSys(request, function);
        return InvokeAsync(request);
    }

    /// <summary>
    /// Invokes the queue function <paramref name="function"/> with <paramref name="message"/> (already decoded, as the host
    /// passes it) and the Storage Queues trigger metadata: <c>QueueTrigger</c>, <c>DequeueCount</c> (a long, sent as JSON),
    /// <c>Id</c>, <c>PopReceipt</c> (strings), <c>InsertionTime</c>, <c>ExpirationTime</c>, <c>NextVisibleTime</c> (DateTimeOffsets, sent as JSON strings).
    /// </summary>
    public Task<InvocationResponse> InvokeQueueAsync(string function, string message, long dequeueCount, string? id = null, string? popReceipt = null,
        DateTimeOffset? insertedAt = null)
    {
        var inserted = insertedAt ?? DateTimeOffset.UtcNow;
        var request = NewInvocation(function);
        request.InputData.Add(new ParameterBinding { Name = BindingName(function), Data = new TypedData { String = message } });
        request.TriggerMetadata["QueueTrigger"] = new TypedData { String = message };
        request.TriggerMetadata["DequeueCount"] = new TypedData { Json = dequeueCount.ToString() };
        request.TriggerMetadata["Id"] = new TypedData { String = id ?? Guid.NewGuid().ToString() };
        request.TriggerMetadata["PopReceipt"] = new TypedData { String = popReceipt ?? "AgAAAAMAAAAAAAAA" };
        request.TriggerMetadata["InsertionTime"] = new TypedData { Json = JsonDate(inserted) };
        request.TriggerMetadata["ExpirationTime"] = new TypedData { Json = JsonDate(inserted.AddDays(7)) };
        request.TriggerMetadata["NextVisibleTime"] = new TypedData { Json = JsonDate(DateTimeOffset.UtcNow.AddMinutes(10)) };
        AddSys(request, function);
        return InvokeAsync(request);
    }

    /// <summary>Sends <paramref name="request"/> and waits for its <c>InvocationResponse</c> (up to 2 minutes).</summary>
    public async Task<InvocationResponse> InvokeAsync(InvocationRequest request) =>
        (await RequestAsync(new StreamingMessage { InvocationRequest = request }, request.InvocationId)).InvocationResponse;

    /// <summary>RpcLog messages of one invocation.</summary>
    public IEnumerable<string> LogsOf(string invocationId) => Logs.Where(l => l.InvocationId == invocationId).Select(l => l.Message);

    private static string JsonDate(DateTimeOffset at) => JsonSerializer.Serialize(at.ToString("yyyy-MM-ddTHH:mm:ss.fffffffzzz"));

    private InvocationRequest NewInvocation(string function)
    {
        if (!_functions.TryGetValue(function, out var f)) throw new ArgumentException($"no function '{function}' was loaded", nameof(function));
        return new InvocationRequest
        {
            InvocationId = Guid.NewGuid().ToString(),
            FunctionId = f.FunctionId,
            TraceContext = new RpcTraceContext { TraceParent = $"00-{Guid.NewGuid():N}-{Guid.NewGuid():N}"[..55] + "-01" },
        };
    }

    private string BindingName(string function) =>
        _functions[function].Bindings.Single(b => b.Value.Direction == BindingInfo.Types.Direction.In && b.Value.Type.EndsWith("Trigger", StringComparison.Ordinal)).Key;

    // The host adds "sys" binding data (MethodName, UtcNow, RandGuid) to every invocation.
    private static void AddSys(InvocationRequest request, string function) =>
        request.TriggerMetadata["sys"] = new TypedData
        {
            Json = JsonSerializer.Serialize(new { MethodName = function, UtcNow = DateTime.UtcNow.ToString("o"), RandGuid = Guid.NewGuid().ToString() }),
        };

    private static void EnsureSuccess(StatusResult result, string what)
    {
        if (result.Status != StatusResult.Types.Status.Success)
            throw new InvalidOperationException($"{what}: {result.Status} {result.Exception?.Message}");
    }

    private async Task<StreamingMessage> RequestAsync(StreamingMessage message, string? correlation = null)
    {
        message.RequestId = Guid.NewGuid().ToString();
        var key = correlation ?? message.RequestId;
        var tcs = new TaskCompletionSource<StreamingMessage>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[key] = tcs;
        await SendAsync(message);
        var exited = _process.WaitForExitAsync();
        var first = await Task.WhenAny(tcs.Task, exited, Task.Delay(TimeSpan.FromMinutes(2)));
        _pending.TryRemove(key, out _);
        if (first == tcs.Task) return await tcs.Task;
        if (first == exited) throw new WorkerExitedException(_process.ExitCode, Output);
        throw new TimeoutException($"no answer to {message.ContentCase} within 2 minutes; output:\n{Output}");
    }

    private async Task SendAsync(StreamingMessage message)
    {
        var stream = await _connected.Task;
        await _writeLock.WaitAsync();
        try { await stream.WriteAsync(message); }
        finally { _writeLock.Release(); }
    }

    private void Append(string? line)
    {
        if (line is null) return;
        lock (_output) _output.AppendLine(line);
    }

    // One EventStream call per worker: the worker opens it and sends StartStream; the host's messages go back on it.
    private async Task RunStreamAsync(IAsyncStreamReader<StreamingMessage> requests, IServerStreamWriter<StreamingMessage> responses, CancellationToken ct)
    {
        try
        {
            await foreach (var m in requests.ReadAllAsync(ct))
            {
                switch (m.ContentCase)
                {
                    case StreamingMessage.ContentOneofCase.StartStream:
                        if (m.StartStream.WorkerId == WorkerId) _connected.TrySetResult(responses);
                        break;
                    case StreamingMessage.ContentOneofCase.RpcLog:
                        _logs.Enqueue(m.RpcLog);
                        break;
                    case StreamingMessage.ContentOneofCase.InvocationResponse:
                        Complete(m.InvocationResponse.InvocationId, m);
                        break;
                    default:
                        Complete(m.RequestId, m);
                        break;
                }
            }
        }
        catch (OperationCanceledException) { }
        catch (IOException) { }
        await _streamDone.Task.WaitAsync(ct).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    private void Complete(string key, StreamingMessage m)
    {
        if (_pending.TryGetValue(key, out var tcs)) tcs.TrySetResult(m);
    }

    /// <summary>Sends <c>WorkerTerminate</c>, waits up to 10 s for the worker to exit, kills it otherwise, stops the server.</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited && _connected.Task.IsCompletedSuccessfully)
            {
                await SendAsync(new StreamingMessage { WorkerTerminate = new WorkerTerminate { GracePeriod = new Duration { Seconds = 5 } } });
                await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
            }
        }
        catch (Exception ex) when (ex is TimeoutException or IOException or InvalidOperationException or Grpc.Core.RpcException) { }
        finally
        {
            if (!_process.HasExited)
            {
                try { _process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
                await _process.WaitForExitAsync();
            }
            _process.Dispose();
            _streamDone.TrySetResult();
            await _server.StopAsync();
            await _server.DisposeAsync();
        }
    }

    private sealed class HostRpcService(Func<FunctionsTestHost> host) : FunctionRpc.FunctionRpcBase
    {
        public override Task EventStream(IAsyncStreamReader<StreamingMessage> requestStream, IServerStreamWriter<StreamingMessage> responseStream,
            ServerCallContext context) => host().RunStreamAsync(requestStream, responseStream, context.CancellationToken);
    }
}

/// <summary>The worker process exited before answering.</summary>
public sealed class WorkerExitedException(int exitCode, string output)
    : Exception($"the worker exited with code {exitCode}; output:\n{output}")
{
    /// <summary>Exit code.</summary>
    public int ExitCode { get; } = exitCode;

    /// <summary>stdout and stderr.</summary>
    public string Output { get; } = output;
}
