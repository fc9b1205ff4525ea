return await AutoSaveRollout.Host.Cli.RolloutCli.RunAsync(args);
