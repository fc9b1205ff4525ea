using AutoSaveRollout.Core.Policy;

namespace AutoSaveRollout.Tests.Gates;

public sealed class GatePolicyTests
{
    private static string Doc(params string[] rolloutLines) =>
        string.Join("\n", new[] { "rollout:" }.Concat(rolloutLines).Concat(["  phases:", "    A: {slo: {}}", "    B: {slo: {}}", "    C: {slo: {}}"])) + "\n";

    [Fact]
    public void Gate_defaults_to_confidence_095()
    {
        var p = PolicyLoader.Parse(Doc(), "policy.yaml");
        Assert.Equal(new GatePolicy(GateMode.Confidence, 0.95), p.Gate);
        Assert.Equal(0.05, p.Gate.Alpha, 12);
    }

    [Fact]
    public void Shipped_policy_uses_the_confidence_gate_and_the_test_copy_the_point_gate()
    {
        Assert.Equal(GatePolicy.Default, PolicyLoader.LoadFile(Policy.RepoFiles.PathOf("policy.yaml")).Gate);
        Assert.Equal(GateMode.Point, PolicyLoader.LoadFile(Policy.RepoFiles.PointPolicy).Gate.Mode);
    }

    [Theory]
    [InlineData("  gate: {mode: point}", GateMode.Point, 0.95)]
    [InlineData("  gate: {confidence: 0.99}", GateMode.Confidence, 0.99)]
    [InlineData("  gate:\n    mode: confidence\n    confidence: 0.9", GateMode.Confidence, 0.9)]
    public void Gate_keys_are_read(string line, GateMode mode, double confidence) =>
        Assert.Equal(new GatePolicy(mode, confidence), PolicyLoader.Parse(Doc(line), "policy.yaml").Gate);

    [Theory]
    [InlineData("  gate: {mode: bayes}", "policy.yaml:2:16: rollout.gate.mode: must be confidence or point, got 'bayes'")]
    [InlineData("  gate: {mode: Point}", "policy.yaml:2:16: rollout.gate.mode: must be confidence or point, got 'Point'")]
    [InlineData("  gate: {confidence: 0.5}", "policy.yaml:2:22: rollout.gate.confidence: must be in (0.5, 0.9999), got 0.5")]
    [InlineData("  gate: {confidence: 0.9999}", "policy.yaml:2:22: rollout.gate.confidence: must be in (0.5, 0.9999), got 0.9999")]
    [InlineData("  gate: {confidence: 95}", "policy.yaml:2:22: rollout.gate.confidence: must be in (0.5, 0.9999), got 95")]
    [InlineData("  gate: {confidence: high}", "policy.yaml:2:22: rollout.gate.confidence: expected a number, got 'high'")]
    [InlineData("  gate: {alpha: 0.05}", "policy.yaml:2:10: rollout.gate.alpha: unknown key (expected one of: mode, confidence)")]
    [InlineData("  gate: point", "policy.yaml:2:9: rollout.gate: expected a mapping, got 'point'")]
    public void Bad_gate_values_fail_with_file_line_column_key_and_reason(string line, string message)
    {
        var ex = Assert.Throws<PolicyValidationException>(() => PolicyLoader.Parse(Doc(line), "policy.yaml"));
        Assert.Equal(message, ex.Message);
    }
}
