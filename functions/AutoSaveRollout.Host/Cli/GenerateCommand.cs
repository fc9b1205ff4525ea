using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using System.Text;
using AutoSaveRollout.Core.Simulation;

namespace AutoSaveRollout.Host.Cli;

/// <summary>
/// <c>generate</c>: writes seeded synthetic AutoSave telemetry JSONL (UTF-8 without BOM, <c>\n</c> endings) with
/// <see cref="TelemetryGenerator"/>. Exit codes: 0 written, 1 command-line parse error (System.CommandLine's default),
/// 2 option out of range, 3 the output file could not be written.
/// </summary>
internal static class GenerateCommand
{
    /// <summary>Builds the command; the root command adds it as a subcommand.</summary>
    public static Command Create()
    {
        var defaults = new TelemetryGeneratorOptions();

        var output = new Option<FileInfo>("--out")
        {
            Description = "JSONL file to write (overwritten; parent folders are created)",
            Required = true,
        };
        var start = new Option<DateTimeOffset>("--start")
        {
            Description = "First instant, RFC 3339 (e.g. 2026-11-20T08:00:00Z; no offset means UTC)",
            DefaultValueFactory = _ => defaults.Start,
            CustomParser = ParseStart,
        };
        var hours = Number("--hours", "Length of the generated stretch, hours", defaults.Duration.TotalHours);
        var rate = Number("--rate", "Mean save attempts per second (Poisson)", defaults.SavesPerSecond);
        var seed = new Option<int>("--seed")
        {
            Description = "Random seed; same options + seed give byte-identical output",
            DefaultValueFactory = _ => defaults.Seed,
        };
        var median = Number("--median-ms", "Median save duration, milliseconds (log-normal)", defaults.MedianMs);
        var sigma = Number("--sigma", "Sigma of ln(duration)", defaults.Sigma);
        var errorRatio = Number("--error-ratio", "Share of save attempts that fail, ratio 0..1 (not percent)", defaults.ErrorRatio);
        var retryable = Number("--retryable-share", "Share of errors that are retryable, ratio 0..1", defaults.RetryableShare);
        var diurnal = Number("--diurnal", "Diurnal rate modulation depth, 0..1", defaults.DiurnalAmplitude);
        var peakHour = Number("--peak-hour", "UTC hour of day with the highest rate", defaults.PeakHourUtc);
        var driftPerHour = Number("--drift-per-hour", "Mean autosave.history.drift events per hour (Poisson)", defaults.DriftPerHour);
        var incidents = new Option<TelemetryIncident[]>("--incident")
        {
            Description = "offsetMinutes:lengthMinutes:latencyMultiplier:errorRatio[:extraDriftEvents]; errorRatio '-' or empty " +
                          "keeps --error-ratio. Repeatable.",
            DefaultValueFactory = _ => [],
            CustomParser = ParseIncidents,
            Arity = ArgumentArity.ZeroOrMore,
        };

        var command = new Command("generate", "Write seeded synthetic AutoSave telemetry (JSONL) for fixtures and load tests");
        foreach (var option in new Option[] { output, start, hours, rate, seed, median, sigma, errorRatio, retryable, diurnal, peakHour, driftPerHour, incidents })
            command.Options.Add(option);

        command.SetAction(parseResult =>
        {
            var stdout = parseResult.InvocationConfiguration.Output;
            var stderr = parseResult.InvocationConfiguration.Error;
            var hoursValue = parseResult.GetValue(hours);
            if (!double.IsFinite(hoursValue) || hoursValue <= 0 || hoursValue > 24 * 366)
            {
                stderr.WriteLine("error: --hours must be > 0 (and at most a year)");
                return 2;
            }

            var options = new TelemetryGeneratorOptions
            {
                Start = parseResult.GetValue(start),
                Duration = TimeSpan.FromHours(hoursValue),
                Seed = parseResult.GetValue(seed),
                SavesPerSecond = parseResult.GetValue(rate),
                MedianMs = parseResult.GetValue(median),
                Sigma = parseResult.GetValue(sigma),
                ErrorRatio = parseResult.GetValue(errorRatio),
                RetryableShare = parseResult.GetValue(retryable),
                DiurnalAmplitude = parseResult.GetValue(diurnal),
                PeakHourUtc = parseResult.GetValue(peakHour),
                DriftPerHour = parseResult.GetValue(driftPerHour),
                Incidents = parseResult.GetValue(incidents) ?? [],
            };

            var file = parseResult.GetValue(output)!;
            try
            {
                TelemetryGenerator.Validate(options);
                file.Directory?.Create();
                TelemetryGenerationSummary summary;
                using (var writer = new StreamWriter(file.FullName, append: false, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false)))
                    summary = TelemetryGenerator.Write(options, writer);
                stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"wrote {summary.Total} events ({summary.Completed} completed, {summary.Errors} errors, {summary.Drift} drift) to {file.FullName}"));
                return 0;
            }
            catch (ArgumentOutOfRangeException ex)
            {
                stderr.WriteLine($"error: {ex.Message.Split(" (Parameter", 2)[0]}");
                return 2;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                stderr.WriteLine($"error: cannot write {file.FullName}: {ex.Message}");
                return 3;
            }
        });
        return command;
    }

    private static Option<double> Number(string name, string description, double defaultValue) => new(name)
    {
        Description = description,
        DefaultValueFactory = _ => defaultValue,
        CustomParser = result =>
        {
            var text = result.Tokens.Count > 0 ? result.Tokens[^1].Value : "";
            if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && double.IsFinite(value))
                return value;
            result.AddError($"{name}: '{text}' is not a finite number");
            return 0;
        },
    };

    private static DateTimeOffset ParseStart(ArgumentResult result)
    {
        var text = result.Tokens.Count > 0 ? result.Tokens[^1].Value : "";
        if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var value))
            return value.ToUniversalTime();
        result.AddError($"--start: '{text}' is not an RFC 3339 timestamp");
        return default;
    }

    /// <summary>Parses every <c>--incident offsetMinutes:lengthMinutes:latencyMultiplier:errorRatio[:extraDriftEvents]</c> token.</summary>
    private static TelemetryIncident[] ParseIncidents(ArgumentResult result)
    {
        var list = new List<TelemetryIncident>();
        foreach (var token in result.Tokens)
        {
            var parts = token.Value.Split(':');
            var ok = parts.Length is 4 or 5;
            double offset = 0, length = 0, multiplier = 0;
            double? ratio = null;
            var drift = 0;
            ok = ok
                 && double.TryParse(parts[0], NumberStyles.Float, CultureInfo.InvariantCulture, out offset)
                 && double.TryParse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture, out length)
                 && double.TryParse(parts[2], NumberStyles.Float, CultureInfo.InvariantCulture, out multiplier);
            if (ok && parts[3] is not ("" or "-"))
            {
                ok = double.TryParse(parts[3], NumberStyles.Float, CultureInfo.InvariantCulture, out var r);
                ratio = r;
            }

            if (ok && parts.Length == 5)
                ok = int.TryParse(parts[4], NumberStyles.None, CultureInfo.InvariantCulture, out drift);
            if (!ok || !double.IsFinite(offset) || !double.IsFinite(length))
            {
                result.AddError($"--incident: '{token.Value}' is not offsetMinutes:lengthMinutes:latencyMultiplier:errorRatio[:extraDriftEvents]");
                continue;
            }

            list.Add(new TelemetryIncident(TimeSpan.FromMinutes(offset), TimeSpan.FromMinutes(length), multiplier, ratio, drift));
        }

        return [.. list];
    }
}
