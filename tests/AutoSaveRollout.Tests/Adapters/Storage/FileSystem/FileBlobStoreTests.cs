using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using AutoSaveRollout.Adapters.Storage.FileSystem;
using AutoSaveRollout.Core.Ports;
using AutoSaveRollout.Tests.Storage.Contracts;

namespace AutoSaveRollout.Tests.Adapters.Storage.FileSystem;

/// <summary>The blob-store contract against <see cref="FileBlobStore"/> on a fresh temp directory per test.</summary>
public sealed class FileSystemBlobStoreContractTests : BlobStoreContract, IDisposable
{
    private readonly TempRoot _root = new();

    /// <inheritdoc />
    protected override Task<IBlobStore> CreateStoreAsync() => Task.FromResult<IBlobStore>(new FileBlobStore(_root.Path));

    /// <inheritdoc />
    public void Dispose() => _root.Dispose();
}

/// <summary>Behaviour specific to the file-system store: file layout, path validation, atomicity, cross-instance and cross-process locking.</summary>
public sealed class FileBlobStoreTests : IDisposable
{
    private readonly TempRoot _root = new();

    public void Dispose() => _root.Dispose();

    private static byte[] Utf8(string s) => Encoding.UTF8.GetBytes(s);

    private static async Task<List<string>> ListAll(IBlobStore store, string prefix)
    {
        var result = new List<string>();
        await foreach (var p in store.ListAsync(prefix))
            result.Add(p);
        return result;
    }

    [Fact]
    public async Task A_blob_is_the_file_root_container_name()
    {
        var store = new FileBlobStore(_root.Path);
        await store.PutAsync("batches/autosave/2026/11/20/1015.jsonl", Utf8("{}\n"), WriteCondition.None);

        var file = Path.Combine(_root.Path, "batches", "autosave", "2026", "11", "20", "1015.jsonl");
        Assert.Equal("{}\n", await File.ReadAllTextAsync(file));
    }

    [Fact]
    public async Task Etag_is_a_quoted_hash_of_the_content()
    {
        var store = new FileBlobStore(_root.Path);
        var etag = await store.PutAsync("etags/a.txt", Utf8("hello"), WriteCondition.None);

        var expected = "\"" + Convert.ToHexStringLower(SHA256.HashData(Utf8("hello"))[..16]) + "\"";
        Assert.Equal(expected, etag);
        Assert.Matches("^\"[0-9a-f]{32}\"$", etag);
    }

    [Theory]
    [InlineData("/abc/x.txt")]
    [InlineData("abc//x.txt")]
    [InlineData("abc/x.txt/")]
    [InlineData("abc/../x.txt")]
    [InlineData("abc/a/../../x.txt")]
    [InlineData("abc/./x.txt")]
    [InlineData("abc/..")]
    [InlineData("abc\\x.txt")]
    [InlineData("abc/dir\\x.txt")]
    [InlineData("abc/")]
    [InlineData("abc")]
    [InlineData("ab/x")]
    [InlineData("abc-/x")]
    [InlineData("ABC/x")]
    [InlineData("abc/x.txt.~0123456789abcdef0123456789abcdef.tmp")]
    public async Task Invalid_paths_are_rejected_before_touching_the_disk(string path)
    {
        var store = new FileBlobStore(_root.Path);

        await Assert.ThrowsAnyAsync<ArgumentException>(() => store.PutAsync(path, Utf8("x"), WriteCondition.None));
        await Assert.ThrowsAnyAsync<ArgumentException>(() => store.AppendAsync(path, Utf8("x")));
        await Assert.ThrowsAnyAsync<ArgumentException>(() => store.CreateAppendBlobAsync(path));
        await Assert.ThrowsAnyAsync<ArgumentException>(() => store.TryGetAsync(path));
        await Assert.ThrowsAnyAsync<ArgumentException>(() => store.DeleteAsync(path));
        Assert.Empty(Directory.EnumerateFileSystemEntries(_root.Path));
        Assert.False(File.Exists(Path.Combine(Path.GetDirectoryName(_root.Path)!, "x.txt")));
    }

    [Fact]
    public async Task Overlong_names_and_segments_are_rejected()
    {
        var store = new FileBlobStore(_root.Path);
        await Assert.ThrowsAsync<ArgumentException>(() => store.PutAsync("abc/" + new string('x', 201), Utf8("x"), WriteCondition.None));
        await Assert.ThrowsAsync<ArgumentException>(() => store.PutAsync("abc/" + string.Join('/', Enumerable.Repeat(new string('x', 100), 11)), Utf8("x"), WriteCondition.None));
        await store.PutAsync("abc/" + new string('x', 200), Utf8("x"), WriteCondition.None);
    }

    [Theory]
    [InlineData("abc/../")]
    [InlineData("abc//x")]
    [InlineData("ABC/")]
    [InlineData("a/")]
    [InlineData("abc/x\\y")]
    public async Task Invalid_list_prefixes_are_rejected(string prefix)
    {
        var store = new FileBlobStore(_root.Path);
        await Assert.ThrowsAnyAsync<ArgumentException>(async () => await ListAll(store, prefix));
    }

    [Fact]
    public async Task List_skips_leftover_temporary_files_and_never_shows_lock_files()
    {
        var store = new FileBlobStore(_root.Path);
        await store.PutAsync("crashy/a.json", Utf8("a"), WriteCondition.None);
        // What a crash between "write temp" and "rename" leaves behind.
        await File.WriteAllTextAsync(Path.Combine(_root.Path, "crashy", $"b.json.~{Guid.NewGuid():N}.tmp"), "partial");
        // A file whose name starts with '.' is an ordinary blob.
        await store.PutAsync("crashy/.hidden", Utf8("h"), WriteCondition.None);

        Assert.Equal(["crashy/.hidden", "crashy/a.json"], await ListAll(store, "crashy"));
        Assert.True(Directory.Exists(Path.Combine(_root.Path, ".locks", "blobs")));
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(_root.Path, "crashy"), "*.lock", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task Successful_writes_leave_no_temporary_files()
    {
        var store = new FileBlobStore(_root.Path);
        for (var i = 0; i < 5; i++)
        {
            await store.PutAsync("clean/x.json", Utf8($"v{i}"), WriteCondition.None);
            await store.AppendAsync("clean/log.jsonl", Utf8($"{i}\n"));
        }
        await store.CreateAppendBlobAsync("clean/empty.jsonl");

        var files = Directory.EnumerateFiles(Path.Combine(_root.Path, "clean")).Select(Path.GetFileName).Order(StringComparer.Ordinal);
        Assert.Equal(["empty.jsonl", "log.jsonl", "x.json"], files);
    }

    [Fact]
    public async Task A_blob_cannot_also_be_a_directory_of_other_blobs()
    {
        var store = new FileBlobStore(_root.Path);
        await store.PutAsync("shape/a", Utf8("file"), WriteCondition.None);
        await store.PutAsync("shape/b/c", Utf8("nested"), WriteCondition.None);

        var below = await Assert.ThrowsAsync<StorageException>(() => store.PutAsync("shape/a/x", Utf8("x"), WriteCondition.None));
        var above = await Assert.ThrowsAsync<StorageException>(() => store.AppendAsync("shape/b", Utf8("x")));

        Assert.Equal((409, "BlobPathConflict", false), (below.Status, below.ErrorCode, below.IsTransient));
        Assert.Equal((409, "BlobPathConflict", false), (above.Status, above.ErrorCode, above.IsTransient));
        Assert.Null(await store.TryGetAsync("shape/b")); // a directory is not a blob
        Assert.False(await store.DeleteAsync("shape/b"));
    }

    [Fact]
    public async Task An_unusable_root_gives_a_transient_storage_exception()
    {
        var file = Path.Combine(_root.Path, "not-a-directory");
        await File.WriteAllTextAsync(file, "x");
        var store = new FileBlobStore(file);

        var ex = await Assert.ThrowsAsync<StorageException>(() => store.PutAsync("abc/x", Utf8("x"), WriteCondition.None));

        Assert.True(ex.IsTransient);
        Assert.Equal(500, ex.Status);
    }

    [Fact]
    public async Task An_open_read_stream_is_a_snapshot_unaffected_by_later_appends_and_overwrites()
    {
        var store = new FileBlobStore(_root.Path);
        await store.AppendAsync("snap/log", Utf8("first\n"));

        await using var stream = await store.TryOpenReadAsync("snap/log");
        await store.AppendAsync("snap/log", Utf8("second\n"));
        await using var stream2 = await store.TryOpenReadAsync("snap/log");
        await store.PutAsync("snap/log", Utf8("replaced"), WriteCondition.None);

        Assert.Equal("first\n", await new StreamReader(stream!).ReadToEndAsync());
        Assert.Equal("first\nsecond\n", await new StreamReader(stream2!).ReadToEndAsync());
    }

    [Fact]
    public async Task Concurrent_if_match_writers_from_two_store_instances_have_exactly_one_winner_per_round()
    {
        // Two FileBlobStore instances on one root share no in-process gate, so only the OS lock file orders them:
        // this stands in for two processes (a real second process is exercised with util-linux flock below).
        var stores = new[] { new FileBlobStore(_root.Path), new FileBlobStore(_root.Path) };
        const string path = "race/state.json";
        await stores[0].PutAsync(path, Utf8("round-0"), WriteCondition.None);
        const int rounds = 15, writers = 12;

        for (var round = 1; round <= rounds; round++)
        {
            var etag = (await stores[round % 2].TryGetAsync(path))!.ETag;
            using var start = new ManualResetEventSlim();
            var attempts = Enumerable.Range(0, writers).Select(w => Task.Run(async () =>
            {
                start.Wait();
                try
                {
                    await stores[w % 2].PutAsync(path, Utf8($"round-{round}-writer-{w}"), WriteCondition.IfMatch(etag));
                    return w;
                }
                catch (ConcurrencyConflictException ex)
                {
                    Assert.Equal(412, ex.Status);
                    return -1;
                }
            })).ToArray();
            start.Set();
            var results = await Task.WhenAll(attempts);

            var winners = results.Where(r => r >= 0).ToList();
            Assert.Single(winners);
            Assert.Equal($"round-{round}-writer-{winners[0]}", Encoding.UTF8.GetString((await stores[0].TryGetAsync(path))!.Content));
        }
    }

    [Fact]
    public async Task Concurrent_counter_increments_through_two_store_instances_lose_no_update()
    {
        var stores = new[] { new FileBlobStore(_root.Path), new FileBlobStore(_root.Path) };
        const string path = "race/counter";
        await stores[0].PutAsync(path, Utf8("0"), WriteCondition.IfNotExists);

        await Task.WhenAll(Enumerable.Range(0, 8).Select(w => Task.Run(async () =>
        {
            var store = stores[w % 2];
            for (var i = 0; i < 10; i++)
            {
                while (true)
                {
                    var current = (await store.TryGetAsync(path))!;
                    var next = int.Parse(Encoding.UTF8.GetString(current.Content)) + 1;
                    try
                    {
                        await store.PutAsync(path, Utf8(next.ToString()), WriteCondition.IfMatch(current.ETag));
                        break;
                    }
                    catch (ConcurrencyConflictException) { }
                }
            }
        })));

        Assert.Equal("80", Encoding.UTF8.GetString((await stores[1].TryGetAsync(path))!.Content));
    }

    [Fact]
    public async Task If_not_exists_from_many_threads_and_two_instances_creates_exactly_once()
    {
        var stores = new[] { new FileBlobStore(_root.Path), new FileBlobStore(_root.Path) };
        for (var round = 0; round < 10; round++)
        {
            var path = $"once/marker-{round}";
            var results = await Task.WhenAll(Enumerable.Range(0, 10).Select(w => Task.Run(async () =>
            {
                try { await stores[w % 2].PutAsync(path, Utf8($"w{w}"), WriteCondition.IfNotExists); return true; }
                catch (ConcurrencyConflictException ex) when (ex.Status == 409) { return false; }
            })));
            Assert.Equal(1, results.Count(r => r));
        }
    }

    [Fact]
    public async Task Readers_never_see_partial_writes_or_partial_appends()
    {
        var writerStore = new FileBlobStore(_root.Path);
        var readerStore = new FileBlobStore(_root.Path);
        const string whole = "torn/whole.bin", log = "torn/log.bin";
        const int blockSize = 256 * 1024;
        await writerStore.PutAsync(whole, Enumerable.Repeat((byte)'a', 1_000_000).ToArray(), WriteCondition.None);
        await writerStore.CreateAppendBlobAsync(log);

        using var stop = new CancellationTokenSource();
        var writer = Task.Run(async () =>
        {
            for (var i = 0; i < 40; i++)
            {
                var fill = (byte)('a' + i % 26);
                await writerStore.PutAsync(whole, Enumerable.Repeat(fill, 1_000_000 + i * 7919).ToArray(), WriteCondition.None);
                await writerStore.AppendAsync(log, Enumerable.Repeat(fill, blockSize).ToArray());
            }
            stop.Cancel();
        });
        var reads = 0;
        var reader = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var w = (await readerStore.TryGetAsync(whole))!;
                Assert.True(w.Content.All(b => b == w.Content[0]), "whole-blob read mixed two versions");
                Assert.Equal(0, (w.Content.Length - 1_000_000) % 7919);
                Assert.Equal(FileBlobStore.ComputeETag(w.Content), w.ETag);

                var l = (await readerStore.TryGetAsync(log))!;
                Assert.Equal(0, l.Content.Length % blockSize);
                reads++;
            }
        });

        await Task.WhenAll(writer, reader);
        Assert.True(reads > 0);
        Assert.Equal(40 * blockSize, (await readerStore.TryGetAsync(log))!.Content.Length);
    }

    [Fact]
    public async Task A_lock_held_by_another_process_blocks_writers_until_released()
    {
        if (!OperatingSystem.IsLinux() || !File.Exists("/usr/bin/flock"))
            return; // util-linux flock(1) is the independent second process; present on the Linux build hosts.

        var store = new FileBlobStore(_root.Path);
        const string path = "xproc/state.json";
        await store.PutAsync(path, Utf8("v1"), WriteCondition.None);
        var lockFile = store.LockFileFor(path);

        using var holder = StartFlockHolder(lockFile, holdSeconds: 2);
        var write = store.PutAsync(path, Utf8("v2"), WriteCondition.None);
        await Task.Delay(700);
        Assert.False(write.IsCompleted, "the write completed while another process held the blob's lock");
        Assert.Equal("v1", Encoding.UTF8.GetString((await File.ReadAllBytesAsync(Path.Combine(_root.Path, "xproc", "state.json")))));

        await write.WaitAsync(TimeSpan.FromSeconds(15));
        await holder.WaitForExitAsync();
        Assert.Equal("v2", Encoding.UTF8.GetString((await store.TryGetAsync(path))!.Content));
    }

    [Fact]
    public async Task A_lock_held_too_long_by_another_process_times_out_as_a_transient_error()
    {
        if (!OperatingSystem.IsLinux() || !File.Exists("/usr/bin/flock"))
            return;

        var store = new FileBlobStore(_root.Path) { LockTimeout = TimeSpan.FromMilliseconds(300) };
        const string path = "xproc/slow.json";
        using var holder = StartFlockHolder(store.LockFileFor(path), holdSeconds: 3);

        var ex = await Assert.ThrowsAsync<StorageException>(() => store.PutAsync(path, Utf8("x"), WriteCondition.IfNotExists));

        Assert.Equal((503, "LockTimeout", true), (ex.Status, ex.ErrorCode, ex.IsTransient));
        holder.Kill(entireProcessTree: true);
    }

    /// <summary>Starts <c>flock -x FILE -c 'echo locked; sleep N'</c> and returns once it holds the lock.</summary>
    internal static Process StartFlockHolder(string lockFile, int holdSeconds)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(lockFile)!);
        var psi = new ProcessStartInfo("/usr/bin/flock")
        {
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add("-x");
        psi.ArgumentList.Add(lockFile);
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add($"echo locked; sleep {holdSeconds}");
        var process = Process.Start(psi)!;
        var line = process.StandardOutput.ReadLine();
        Assert.Equal("locked", line);
        return process;
    }
}
