using System.Security.Cryptography;
using System.Text;
using AutoSaveRollout.Core.Policy;

namespace AutoSaveRollout.Tests.Policy;

public sealed class PolicyLoaderTests
{
    private static string Lines(params string[] lines) => string.Join("\n", lines) + "\n";

    // Phases B and C with empty slo mappings, appended to documents that exercise phase A.
    private const string PhaseB = "    B: {slo: {}}";
    private const string PhaseC = "    C: {slo: {}}";

    private static void AssertShippedValues(RolloutPolicy p)
    {
        Assert.Equal("autosave", p.Flag);
        Assert.Equal(0.8, p.WarnRatio);
        Assert.Equal(50, p.MinSamples);
        Assert.Equal(3, p.Phases.Count);
        Assert.Equal(new PhasePolicy(Phase.A, 5, new SloThresholds(2.5, 1.0, 0, 180)), p.For(Phase.A));
        Assert.Equal(new PhasePolicy(Phase.B, 30, new SloThresholds(2.0, 0.5, 0, 120)), p.For(Phase.B));
        Assert.Equal(new PhasePolicy(Phase.C, 100, new SloThresholds(1.8, 0.3, 0, 120)), p.For(Phase.C));
        Assert.Equal(new ChannelPolicy("#autosave-rollout", "#autosave-rollout", "#incident-autosave", "#incident"), p.Channels);
    }

    [Fact]
    public void Shipped_policy_yaml_loads_to_the_documented_values()
    {
        var path = RepoFiles.PathOf("policy.yaml");
        var policy = PolicyLoader.LoadFile(path);

        AssertShippedValues(policy);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path))), policy.Sha256);
        Assert.Matches("^[0-9a-f]{64}$", policy.Sha256);
    }

    [Fact]
    public void Minimal_document_with_only_slo_per_phase_gets_all_defaults()
    {
        var yaml = Lines(
            "rollout:",
            "  phases:",
            "    A: {slo: {}}",
            "    B:",
            "      slo: {}",
            "    C: {slo: {}}");

        AssertShippedValues(PolicyLoader.Parse(yaml, "policy.yaml"));
    }

    [Fact]
    public void Missing_keys_inside_slo_default_per_phase_while_given_ones_are_kept()
    {
        var yaml = Lines(
            "rollout:",
            "  warn_ratio: 0.75",
            "  min_samples: 0",
            "  phases:",
            "    A: {exposure_pct: 1.5, slo: {save_p95_s: 3}}",
            "    B: {slo: {error_rate_pct: .25, history_drift: 0.5}}",
            "    C: {slo: {collector_latency_s: 1e2}}",
            "  channels: {incident: '#inc'}");

        var p = PolicyLoader.Parse(yaml, "policy.yaml");

        Assert.Equal(0.75, p.WarnRatio);
        Assert.Equal(0, p.MinSamples);
        Assert.Equal(new PhasePolicy(Phase.A, 1.5, new SloThresholds(3, 1.0, 0, 180)), p.For(Phase.A));
        Assert.Equal(new PhasePolicy(Phase.B, 30, new SloThresholds(2.0, 0.25, 0.5, 120)), p.For(Phase.B));
        Assert.Equal(new PhasePolicy(Phase.C, 100, new SloThresholds(1.8, 0.3, 0, 100)), p.For(Phase.C));
        Assert.Equal(new ChannelPolicy("#autosave-rollout", "#autosave-rollout", "#inc", "#incident"), p.Channels);
    }

    [Fact]
    public void Parse_hashes_the_utf8_text_and_LoadFile_hashes_the_raw_bytes_including_a_bom()
    {
        var yaml = Lines("rollout:", "  phases: {A: {slo: {}}, B: {slo: {}}, C: {slo: {}}}");
        var parsed = PolicyLoader.Parse(yaml, "x.yaml");
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(yaml))), parsed.Sha256);

        var dir = Directory.CreateTempSubdirectory("policy-");
        try
        {
            var withBom = Path.Combine(dir.FullName, "bom.yaml");
            var bytes = new byte[] { 0xEF, 0xBB, 0xBF }.Concat(Encoding.UTF8.GetBytes(yaml)).ToArray();
            File.WriteAllBytes(withBom, bytes);
            var loaded = PolicyLoader.LoadFile(withBom);
            Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(bytes)), loaded.Sha256);
            Assert.NotEqual(parsed.Sha256, loaded.Sha256);
            Assert.Equal(parsed with { Sha256 = loaded.Sha256, Phases = loaded.Phases }, loaded);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void LoadFile_errors_name_the_path_as_given()
    {
        var dir = Directory.CreateTempSubdirectory("policy-");
        try
        {
            var path = Path.Combine(dir.FullName, "policy.yaml");
            File.WriteAllText(path, Lines("rollout:", "  flag: ''"));
            var ex = Assert.Throws<PolicyValidationException>(() => PolicyLoader.LoadFile(path));
            Assert.Equal($"{path}:2:9: rollout.flag: must be a non-empty string", ex.Message);
            Assert.Equal((path, 2, 9, "rollout.flag", "must be a non-empty string"), (ex.File, ex.Line, ex.Column, ex.Key, ex.Reason));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void LoadFile_rejects_invalid_utf8()
    {
        var dir = Directory.CreateTempSubdirectory("policy-");
        try
        {
            var path = Path.Combine(dir.FullName, "policy.yaml");
            File.WriteAllBytes(path, [.. Encoding.UTF8.GetBytes("rollout:\n  flag: auto"), 0xFF, 0xFE, (byte)'\n']);
            var ex = Assert.Throws<PolicyValidationException>(() => PolicyLoader.LoadFile(path));
            Assert.Equal($"{path}:1:1: (document): file is not valid UTF-8", ex.Message);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void LoadFile_of_a_missing_file_throws_FileNotFoundException()
    {
        var path = Path.Combine(Path.GetTempPath(), $"no-such-policy-{Guid.NewGuid():N}.yaml");
        Assert.Throws<FileNotFoundException>(() => PolicyLoader.LoadFile(path));
    }

    [Fact]
    public void Exception_parts_match_the_message()
    {
        var ex = Assert.Throws<PolicyValidationException>(() => PolicyLoader.Parse(Lines(
            "rollout:",
            "  phases:",
            "    A:",
            "      slo: {save_p95_s: fast}",
            PhaseB, PhaseC), "conf/policy.yaml"));

        Assert.Equal("conf/policy.yaml", ex.File);
        Assert.Equal(4, ex.Line);
        Assert.Equal(25, ex.Column);
        Assert.Equal("rollout.phases.A.slo.save_p95_s", ex.Key);
        Assert.Equal("expected a number, got 'fast'", ex.Reason);
        Assert.Equal("conf/policy.yaml:4:25: rollout.phases.A.slo.save_p95_s: expected a number, got 'fast'", ex.Message);
    }

    /// <summary>Every rejected document with the exact message it must produce (file name <c>policy.yaml</c>).</summary>
    public static TheoryData<string, string, string> Invalid => new()
    {
        // ---- unknown keys (position of the key) ----
        {
            "unknown key inside slo",
            Lines("rollout:", "  phases:", "    A:", "      exposure_pct: 5", "      slo:", "        error_rate_pct: 1.0",
                "        save_p95: 2.5", PhaseB, PhaseC),
            "policy.yaml:7:9: rollout.phases.A.slo.save_p95: unknown key (expected one of: save_p95_s, error_rate_pct, history_drift, collector_latency_s)"
        },
        {
            "unknown top-level key",
            Lines("rollout:", "  phases: {A: {slo: {}}, B: {slo: {}}, C: {slo: {}}}", "rollback: true"),
            "policy.yaml:3:1: rollback: unknown key (expected one of: rollout)"
        },
        {
            "unknown key under rollout",
            Lines("rollout:", "  flags: autosave", "  phases: {A: {slo: {}}, B: {slo: {}}, C: {slo: {}}}"),
            "policy.yaml:2:3: rollout.flags: unknown key (expected one of: flag, warn_ratio, min_samples, gate, phases, channels)"
        },
        {
            "unknown phase",
            Lines("rollout:", "  phases:", "    A: {slo: {}}", PhaseB, PhaseC, "    D: {slo: {}}"),
            "policy.yaml:6:5: rollout.phases.D: unknown key (expected one of: A, B, C)"
        },
        {
            "unknown key in a phase",
            Lines("rollout:", "  phases:", "    A: {exposure: 5, slo: {}}", PhaseB, PhaseC),
            "policy.yaml:3:9: rollout.phases.A.exposure: unknown key (expected one of: exposure_pct, slo, promotion)"
        },
        {
            "unknown channel",
            Lines("rollout:", "  phases: {A: {slo: {}}, B: {slo: {}}, C: {slo: {}}}", "  channels:", "    page: '#x'"),
            "policy.yaml:4:5: rollout.channels.page: unknown key (expected one of: ok, warn, incident, escalation)"
        },
        // ---- promotion rules ----
        {
            "unknown key in promotion",
            Lines("rollout:", "  phases:", "    A: {slo: {}, promotion: {after: 8}}", PhaseB, PhaseC),
            "policy.yaml:3:30: rollout.phases.A.promotion.after: unknown key (expected one of: after_windows, after_hours, approvers, no_critical_alert, no_incident)"
        },
        {
            "both after_windows and after_hours (error at the second)",
            Lines("rollout:", "  phases:", "    A: {slo: {}}", "    B:", "      slo: {}", "      promotion:", "        after_hours: 24",
                "        after_windows: 96", PhaseC),
            "policy.yaml:8:9: rollout.phases.B.promotion.after_windows: give either after_windows or after_hours, not both"
        },
        {
            "after_windows zero",
            Lines("rollout:", "  phases:", "    A: {slo: {}, promotion: {after_windows: 0}}", PhaseB, PhaseC),
            "policy.yaml:3:45: rollout.phases.A.promotion.after_windows: expected an integer in [1, 672], got '0'"
        },
        {
            "after_windows fractional",
            Lines("rollout:", "  phases:", "    A: {slo: {}, promotion: {after_windows: 8.5}}", PhaseB, PhaseC),
            "policy.yaml:3:45: rollout.phases.A.promotion.after_windows: expected an integer in [1, 672], got '8.5'"
        },
        {
            "after_hours not a whole number of windows",
            Lines("rollout:", "  phases:", "    A: {slo: {}}", "    B: {slo: {}, promotion: {after_hours: 1.1}}", PhaseC),
            "policy.yaml:4:43: rollout.phases.B.promotion.after_hours: must be a whole number of 15-minute windows (a multiple of 0.25), got 1.1"
        },
        {
            "after_hours beyond 7 days",
            Lines("rollout:", "  phases:", "    A: {slo: {}}", PhaseB, "    C: {slo: {}, promotion: {after_hours: 200}}"),
            "policy.yaml:5:43: rollout.phases.C.promotion.after_hours: must be in (0, 168], got 200"
        },
        {
            "approvers not a list",
            Lines("rollout:", "  phases:", "    A: {slo: {}, promotion: {approvers: sre}}", PhaseB, PhaseC),
            "policy.yaml:3:41: rollout.phases.A.promotion.approvers: expected a list of roles (sre, dev_lead, governance), got 'sre'"
        },
        {
            "approvers empty",
            Lines("rollout:", "  phases:", "    A: {slo: {}, promotion: {approvers: []}}", PhaseB, PhaseC),
            "policy.yaml:3:41: rollout.phases.A.promotion.approvers: must list at least one role (sre, dev_lead, governance)"
        },
        {
            "unknown approver role",
            Lines("rollout:", "  phases:", "    A: {slo: {}}", "    B:", "      slo: {}", "      promotion:", "        approvers:",
                "          - sre", "          - qa", PhaseC),
            "policy.yaml:9:13: rollout.phases.B.promotion.approvers[1]: unknown role 'qa' (expected one of: sre, dev_lead, governance)"
        },
        {
            "duplicate approver role",
            Lines("rollout:", "  phases:", "    A: {slo: {}, promotion: {approvers: [sre, dev_lead, sre]}}", PhaseB, PhaseC),
            "policy.yaml:3:57: rollout.phases.A.promotion.approvers[2]: duplicate role 'sre'"
        },
        {
            "no_incident not a boolean",
            Lines("rollout:", "  phases:", "    A: {slo: {}}", PhaseB, "    C: {slo: {}, promotion: {no_incident: yes}}"),
            "policy.yaml:5:43: rollout.phases.C.promotion.no_incident: expected true or false, got 'yes'"
        },
        {
            "promotion not a mapping",
            Lines("rollout:", "  phases:", "    A: {slo: {}, promotion: 8}", PhaseB, PhaseC),
            "policy.yaml:3:29: rollout.phases.A.promotion: expected a mapping, got '8'"
        },
        // ---- missing required keys (position of the key introducing the enclosing mapping) ----
        {
            "missing phase B",
            Lines("rollout:", "  flag: autosave", "  phases:", "    A: {slo: {}}", PhaseC),
            "policy.yaml:3:3: rollout.phases.B: missing required key"
        },
        {
            "phases absent",
            Lines("rollout:", "  flag: autosave", "  warn_ratio: 0.8"),
            "policy.yaml:1:1: rollout.phases: missing required key"
        },
        {
            "rollout absent",
            Lines("{}"),
            "policy.yaml:1:1: rollout: missing required key"
        },
        {
            "missing slo",
            Lines("rollout:", "  phases:", "    A: {exposure_pct: 5}", PhaseB, PhaseC),
            "policy.yaml:3:5: rollout.phases.A.slo: missing required key"
        },
        // ---- numbers ----
        {
            "negative threshold",
            Lines("rollout:", "  phases:", "    A: {slo: {save_p95_s: 2.5}}", "    B:", "      slo:", "        error_rate_pct: -0.5", PhaseC),
            "policy.yaml:6:25: rollout.phases.B.slo.error_rate_pct: must be >= 0, got -0.5"
        },
        {
            "non-numeric threshold",
            Lines("rollout:", "  phases:", PhaseB.Replace("B", "A"), "    B:", "      slo:", "        save_p95_s: fast", PhaseC),
            "policy.yaml:6:21: rollout.phases.B.slo.save_p95_s: expected a number, got 'fast'"
        },
        {
            "quoted number is a string",
            Lines("rollout:", "  phases:", "    A: {slo: {save_p95_s: \"2.5\"}}", PhaseB, PhaseC),
            "policy.yaml:3:27: rollout.phases.A.slo.save_p95_s: expected a number, got quoted string '2.5'"
        },
        {
            "boolean threshold",
            Lines("rollout:", "  phases:", "    A: {slo: {history_drift: true}}", PhaseB, PhaseC),
            "policy.yaml:3:30: rollout.phases.A.slo.history_drift: expected a number, got 'true'"
        },
        {
            "null threshold",
            Lines("rollout:", "  phases:", "    A:", "      slo:", "        collector_latency_s:", PhaseB, PhaseC),
            "policy.yaml:5:29: rollout.phases.A.slo.collector_latency_s: expected a number, got null"
        },
        {
            "comma decimal separator",
            Lines("rollout:", "  phases:", "    A: {slo: {save_p95_s: '2,5'}}", PhaseB, PhaseC),
            "policy.yaml:3:27: rollout.phases.A.slo.save_p95_s: expected a number, got quoted string '2,5'"
        },
        {
            "comma decimal separator plain",
            Lines("rollout:", "  phases:", "    A:", "      slo:", "        save_p95_s: 2,5", PhaseB, PhaseC),
            "policy.yaml:5:21: rollout.phases.A.slo.save_p95_s: expected a number, got '2,5'"
        },
        {
            "positive infinity",
            Lines("rollout:", "  phases:", "    A:", "      slo:", "        save_p95_s: .inf", PhaseB, PhaseC),
            "policy.yaml:5:21: rollout.phases.A.slo.save_p95_s: expected a finite number, got '.inf'"
        },
        {
            "negative infinity",
            Lines("rollout:", "  phases:", "    A:", "      slo:", "        save_p95_s: -.Inf", PhaseB, PhaseC),
            "policy.yaml:5:21: rollout.phases.A.slo.save_p95_s: expected a finite number, got '-.Inf'"
        },
        {
            "not a number",
            Lines("rollout:", "  phases:", "    A:", "      slo:", "        error_rate_pct: .nan", PhaseB, PhaseC),
            "policy.yaml:5:25: rollout.phases.A.slo.error_rate_pct: expected a finite number, got '.nan'"
        },
        {
            "overflow to infinity",
            Lines("rollout:", "  phases:", "    A:", "      slo:", "        error_rate_pct: 1e999", PhaseB, PhaseC),
            "policy.yaml:5:25: rollout.phases.A.slo.error_rate_pct: expected a finite number, got '1e999'"
        },
        {
            "warn_ratio of 1",
            Lines("rollout:", "  warn_ratio: 1", "  phases: {A: {slo: {}}, B: {slo: {}}, C: {slo: {}}}"),
            "policy.yaml:2:15: rollout.warn_ratio: must be in (0, 1), got 1"
        },
        {
            "warn_ratio of 0",
            Lines("rollout:", "  warn_ratio: 0", "  phases: {A: {slo: {}}, B: {slo: {}}, C: {slo: {}}}"),
            "policy.yaml:2:15: rollout.warn_ratio: must be in (0, 1), got 0"
        },
        {
            "warn_ratio as percent",
            Lines("rollout:", "  warn_ratio: 80", "  phases: {A: {slo: {}}, B: {slo: {}}, C: {slo: {}}}"),
            "policy.yaml:2:15: rollout.warn_ratio: must be in (0, 1), got 80"
        },
        {
            "negative min_samples",
            Lines("rollout:", "  min_samples: -1", "  phases: {A: {slo: {}}, B: {slo: {}}, C: {slo: {}}}"),
            "policy.yaml:2:16: rollout.min_samples: expected an integer >= 0, got '-1'"
        },
        {
            "fractional min_samples",
            Lines("rollout:", "  min_samples: 12.5", "  phases: {A: {slo: {}}, B: {slo: {}}, C: {slo: {}}}"),
            "policy.yaml:2:16: rollout.min_samples: expected an integer >= 0, got '12.5'"
        },
        {
            "min_samples beyond int range",
            Lines("rollout:", "  min_samples: 99999999999", "  phases: {A: {slo: {}}, B: {slo: {}}, C: {slo: {}}}"),
            "policy.yaml:2:16: rollout.min_samples: expected an integer >= 0, got '99999999999'"
        },
        {
            "zero exposure",
            Lines("rollout:", "  phases:", "    A: {exposure_pct: 0, slo: {}}", PhaseB, PhaseC),
            "policy.yaml:3:23: rollout.phases.A.exposure_pct: must be in (0, 100], got 0"
        },
        {
            "exposure above 100",
            Lines("rollout:", "  phases:", "    A: {slo: {}}", "    B: {slo: {}}", "    C: {exposure_pct: 100.5, slo: {}}"),
            "policy.yaml:5:23: rollout.phases.C.exposure_pct: must be in (0, 100], got 100.5"
        },
        // ---- node kinds ----
        {
            "scalar where the slo mapping is expected",
            Lines("rollout:", "  phases:", "    A: {slo: 2.5}", PhaseB, PhaseC),
            "policy.yaml:3:14: rollout.phases.A.slo: expected a mapping, got '2.5'"
        },
        {
            "null slo",
            Lines("rollout:", "  phases:", "    A:", "      slo:", PhaseB, PhaseC),
            "policy.yaml:4:11: rollout.phases.A.slo: expected a mapping, got null"
        },
        {
            "sequence where phases mapping is expected",
            Lines("rollout:", "  phases: [A, B, C]"),
            "policy.yaml:2:11: rollout.phases: expected a mapping, got a sequence"
        },
        {
            "document is a scalar",
            Lines("rollout"),
            "policy.yaml:1:1: (document): expected a mapping, got 'rollout'"
        },
        {
            "mapping where a number is expected",
            Lines("rollout:", "  phases:", "    A: {slo: {save_p95_s: {p: 2}}}", PhaseB, PhaseC),
            "policy.yaml:3:27: rollout.phases.A.slo.save_p95_s: expected a number, got a mapping"
        },
        {
            "mapping where a string is expected",
            Lines("rollout:", "  flag: {name: autosave}", "  phases: {A: {slo: {}}, B: {slo: {}}, C: {slo: {}}}"),
            "policy.yaml:2:9: rollout.flag: expected a string, got a mapping"
        },
        // ---- duplicates (position of the second key) ----
        {
            "duplicate threshold",
            Lines("rollout:", "  phases:", "    A:", "      slo:", "        save_p95_s: 2.5", "        save_p95_s: 3.0", PhaseB, PhaseC),
            "policy.yaml:6:9: rollout.phases.A.slo.save_p95_s: duplicate key"
        },
        {
            "duplicate phase",
            Lines("rollout:", "  phases:", "    A: {slo: {}}", PhaseB, PhaseC, "    A: {slo: {}}"),
            "policy.yaml:6:5: rollout.phases.A: duplicate key"
        },
        {
            "duplicate in a flow mapping",
            Lines("rollout:", "  channels: {ok: '#a', ok: '#b'}", "  phases: {A: {slo: {}}, B: {slo: {}}, C: {slo: {}}}"),
            "policy.yaml:2:24: rollout.channels.ok: duplicate key"
        },
        // ---- strings ----
        {
            "empty flag",
            Lines("rollout:", "  flag: \"\"", "  phases: {A: {slo: {}}, B: {slo: {}}, C: {slo: {}}}"),
            "policy.yaml:2:9: rollout.flag: must be a non-empty string"
        },
        {
            "flag with a space",
            Lines("rollout:", "  flag: auto save", "  phases: {A: {slo: {}}, B: {slo: {}}, C: {slo: {}}}"),
            "policy.yaml:2:9: rollout.flag: must be 1-64 letters, digits, '.', '_' or '-' starting with a letter or digit, got 'auto save'"
        },
        {
            "flag with Slack markup",
            Lines("rollout:", "  flag: '<!channel>'", "  phases: {A: {slo: {}}, B: {slo: {}}, C: {slo: {}}}"),
            "policy.yaml:2:9: rollout.flag: must be 1-64 letters, digits, '.', '_' or '-' starting with a letter or digit, got '<!channel>'"
        },
        {
            "flag with a shell metacharacter and a path",
            Lines("rollout:", "  flag: \"x;rm -rf /\"", "  phases: {A: {slo: {}}, B: {slo: {}}, C: {slo: {}}}"),
            "policy.yaml:2:9: rollout.flag: must be 1-64 letters, digits, '.', '_' or '-' starting with a letter or digit, got 'x;rm -rf /'"
        },
        {
            "flag of 65 characters",
            Lines("rollout:", "  flag: " + new string('f', 65), "  phases: {A: {slo: {}}, B: {slo: {}}, C: {slo: {}}}"),
            "policy.yaml:2:9: rollout.flag: must be 1-64 letters, digits, '.', '_' or '-' starting with a letter or digit, got '" + new string('f', 40) + "…'"
        },
        {
            "null flag",
            Lines("rollout:", "  flag:", "  phases: {A: {slo: {}}, B: {slo: {}}, C: {slo: {}}}"),
            "policy.yaml:2:8: rollout.flag: must be a non-empty string"
        },
        {
            "unquoted channel is a comment, so null",
            Lines("rollout:", "  phases: {A: {slo: {}}, B: {slo: {}}, C: {slo: {}}}", "  channels:", "    incident: #incident-autosave"),
            "policy.yaml:4:14: rollout.channels.incident: must be a non-empty string"
        },
        {
            "blank channel",
            Lines("rollout:", "  phases: {A: {slo: {}}, B: {slo: {}}, C: {slo: {}}}", "  channels: {warn: '   '}"),
            "policy.yaml:3:20: rollout.channels.warn: must be a non-empty string"
        },
        // ---- whole document ----
        {
            "empty document",
            "",
            "policy.yaml:1:1: (document): empty document (expected a mapping with key 'rollout')"
        },
        {
            "only comments",
            Lines("# nothing here", "   # still nothing"),
            "policy.yaml:1:1: (document): empty document (expected a mapping with key 'rollout')"
        },
        {
            "two documents",
            Lines("rollout:", "  phases: {A: {slo: {}}, B: {slo: {}}, C: {slo: {}}}", "---", "rollout: {}"),
            "policy.yaml:4:1: (document): expected a single YAML document, found 2"
        },
        {
            "syntax error: unclosed flow mapping",
            Lines("rollout:", "  phases: {A: {slo: {}}, B: {slo: {}}, C: {slo: {}}", "  flag: x"),
            "policy.yaml:2:51: (document): invalid YAML: cannot parse beyond this point"
        },
        {
            "syntax error: unclosed flow sequence",
            Lines("rollout:", "  phases: [A, B"),
            "policy.yaml:3:1: (document): invalid YAML: while parsing a flow sequence, did not find expected ',' or ']'"
        },
        {
            "syntax error: tab indentation (reported at the tab, not at the enclosing mapping YamlDotNet marks: issue 10)",
            Lines("rollout:", "\tflag: autosave"),
            "policy.yaml:2:1: (document): invalid YAML: tab in the indentation (YAML indents with spaces)"
        },
        {
            "syntax error: a tab after spaces, deep in the file",
            Lines("rollout:", "  flag: autosave", "  phases:", "    A:", "  \t  slo: {}"),
            "policy.yaml:5:3: (document): invalid YAML: tab in the indentation (YAML indents with spaces)"
        },
        {
            "syntax error: bad indentation",
            Lines("rollout:", "  flag: autosave", " warn_ratio: 0.8"),
            "policy.yaml:3:2: (document): invalid YAML: while parsing a block mapping, did not find expected key"
        },
        {
            "undefined alias",
            Lines("rollout:", "  flag: *name", "  phases: {A: {slo: {}}, B: {slo: {}}, C: {slo: {}}}"),
            "policy.yaml:2:9: rollout.flag: undefined alias *name"
        },
    };

    [Theory]
    [MemberData(nameof(Invalid))]
    public void Invalid_documents_are_rejected_with_file_line_column_key_and_reason(string because, string yaml, string expected)
    {
        var ex = Assert.Throws<PolicyValidationException>(() => PolicyLoader.Parse(yaml, "policy.yaml"));
        Assert.True(expected == ex.Message, $"{because}:\nexpected: {expected}\nactual:   {ex.Message}");
    }

    [Fact]
    public void Promotion_rules_default_to_the_design_and_given_keys_replace_only_themselves()
    {
        var defaults = PolicyLoader.Parse(Lines("rollout:", "  phases: {A: {slo: {}}, B: {slo: {}}, C: {slo: {}}}"), "policy.yaml");
        Assert.Equal(new PromotionRule(8, null, ApproverRoles.Sre | ApproverRoles.DevLead, false, false), defaults.For(Phase.A).Promotion);
        Assert.Equal(new PromotionRule(null, 24, ApproverRoles.Sre, true, false), defaults.For(Phase.B).Promotion);
        Assert.Equal(new PromotionRule(null, 72, ApproverRoles.Governance, false, true), defaults.For(Phase.C).Promotion);
        Assert.Equal([8, 96, 288], new[] { Phase.A, Phase.B, Phase.C }.Select(p => defaults.For(p).Promotion.RequiredWindows));

        var p = PolicyLoader.Parse(Lines(
            "rollout:",
            "  phases:",
            "    A: {slo: {}, promotion: {after_hours: 2.5}}",
            "    B: {slo: {}, promotion: {after_windows: 12, approvers: [governance, sre], no_critical_alert: false}}",
            "    C: {slo: {}, promotion: {no_incident: FALSE, approvers: [dev_lead]}}"), "policy.yaml");
        Assert.Equal(new PromotionRule(null, 2.5, ApproverRoles.Sre | ApproverRoles.DevLead, false, false), p.For(Phase.A).Promotion);
        Assert.Equal(10, p.For(Phase.A).Promotion.RequiredWindows);
        Assert.Equal(new PromotionRule(12, null, ApproverRoles.Sre | ApproverRoles.Governance, false, false), p.For(Phase.B).Promotion);
        Assert.Equal(new PromotionRule(null, 72, ApproverRoles.DevLead, false, false), p.For(Phase.C).Promotion);
        Assert.Equal(["sre", "governance"], ApproverRoleNames.Names(p.For(Phase.B).Promotion.Approvers));
    }

    [Theory]
    [InlineData("autosave")]
    [InlineData("AutoSave.v2_beta-1")]
    [InlineData("9")]
    public void Flag_names_of_letters_digits_dots_underscores_and_dashes_are_accepted(string flag)
    {
        var policy = PolicyLoader.Parse(Lines("rollout:", "  flag: " + flag, "  phases: {A: {slo: {}}, B: {slo: {}}, C: {slo: {}}}"), "policy.yaml");
        Assert.Equal(flag, policy.Flag);
    }
}
