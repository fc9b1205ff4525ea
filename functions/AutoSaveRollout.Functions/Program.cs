using AutoSaveRollout.Functions;
using AutoSaveRollout.Hosting;
using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Extensions.Hosting;

// Azure Functions isolated worker. FunctionsApplication.CreateBuilder applies ConfigureFunctionsWorkerDefaults; app
// settings (local.settings.json Values when run with `func start`) arrive as environment variables.
var builder = FunctionsApplication.CreateBuilder(args);

// The same ports and stages as the standalone host's `run` command, from app settings, through the one composition
// (RolloutPipelineRegistration). A missing or invalid app file or setting throws here or in ValidateRolloutPipeline, so the
// worker stops at start-up with one message (naming the setting, never a secret) instead of failing and poisoning every
// queue message. The worker's own services (dead-letter records on the last delivery, OpenTelemetry, the test clock)
// come first: the pipeline registers the system clock only if none is.
builder.Services.AddWorkerServices(builder.Configuration);
builder.Services.AddRolloutPipeline(builder.Configuration, AppContext.BaseDirectory);

var app = builder.Build();
app.Services.ValidateRolloutPipeline();
app.Run();
