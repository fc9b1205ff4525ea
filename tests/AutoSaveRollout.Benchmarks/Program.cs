using AutoSaveRollout.Benchmarks;
using BenchmarkDotNet.Running;

// The benchmark processes BenchmarkDotNet starts inherit this variable and record their input facts there; the summary
// columns read them back (see BatchFacts). A fresh directory per run, so stale facts never show up.
var factsDir = Path.Combine(Path.GetTempPath(), "autosave-rollout-bench-" + Guid.NewGuid().ToString("N")[..12]);
Environment.SetEnvironmentVariable(BatchFacts.DirectoryVariable, factsDir);
try
{
    BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
}
finally
{
    if (Directory.Exists(factsDir)) Directory.Delete(factsDir, recursive: true);
}
