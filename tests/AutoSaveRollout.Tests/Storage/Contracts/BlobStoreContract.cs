using System.Text;
using AutoSaveRollout.Core.Ports;

namespace AutoSaveRollout.Tests.Storage.Contracts;

/// <summary>
/// Behaviour every <see cref="IBlobStore"/> must show, whatever the backend (embedded file system, Azure, Azurite).
/// A subclass supplies the store; each test works in its own freshly named container (<see cref="NewContainer"/>),
/// so a shared backend needs no cleanup between tests. Nothing here depends on the backend's clock.
/// </summary>
public abstract class BlobStoreContract
{
    /// <summary>The store under test. May be called more than once per test; all calls must reach the same backend.</summary>
    protected abstract Task<IBlobStore> CreateStoreAsync();

    /// <summary>A container name no other test uses: <c>t</c> + 20 hex digits (valid for Azure).</summary>
    protected virtual string NewContainer() => "t" + Guid.NewGuid().ToString("N")[..20];

    private static byte[] Utf8(string s) => Encoding.UTF8.GetBytes(s);

    private static async Task<List<string>> ListAll(IBlobStore store, string prefix)
    {
        var result = new List<string>();
        await foreach (var path in store.ListAsync(prefix))
            result.Add(path);
        return result;
    }

    [Fact]
    public async Task Put_then_get_round_trips_content_and_reports_the_same_quoted_etag()
    {
        var store = await CreateStoreAsync();
        var path = $"{NewContainer()}/autosave/2026/11/20/1015.jsonl";
        var content = Utf8("{\"ts\":\"2026-11-20T10:15:00Z\"}\n{\"ts\":\"2026-11-20T10:16:00Z\"}\n");

        var etag = await store.PutAsync(path, content, WriteCondition.None);
        var read = await store.TryGetAsync(path);

        Assert.NotNull(read);
        Assert.Equal(content, read.Content);
        Assert.Equal(etag, read.ETag);
        Assert.StartsWith("\"", etag);
        Assert.EndsWith("\"", etag);
    }

    [Fact]
    public async Task Missing_blob_reads_as_null_in_an_existing_and_in_an_unknown_container()
    {
        var store = await CreateStoreAsync();
        var container = NewContainer();
        await store.PutAsync($"{container}/present.txt", Utf8("x"), WriteCondition.None);

        Assert.Null(await store.TryGetAsync($"{container}/absent.txt"));
        Assert.Null(await store.TryOpenReadAsync($"{container}/absent.txt"));
        Assert.Null(await store.TryGetAsync($"{NewContainer()}/absent.txt"));
        Assert.Null(await store.TryOpenReadAsync($"{NewContainer()}/absent.txt"));
    }

    [Fact]
    public async Task Open_read_streams_the_whole_content()
    {
        var store = await CreateStoreAsync();
        var path = $"{NewContainer()}/big.bin";
        var content = new byte[1_048_576 + 123];
        new Random(42).NextBytes(content);
        await store.PutAsync(path, content, WriteCondition.None);

        await using var stream = await store.TryOpenReadAsync(path);
        Assert.NotNull(stream);
        using var copy = new MemoryStream();
        await stream.CopyToAsync(copy);
        Assert.Equal(content, copy.ToArray());
    }

    [Fact]
    public async Task Put_if_not_exists_succeeds_once_then_conflicts_and_keeps_the_first_content()
    {
        var store = await CreateStoreAsync();
        var path = $"{NewContainer()}/once.json";

        var etag = await store.PutAsync(path, Utf8("first"), WriteCondition.IfNotExists);
        var ex = await Assert.ThrowsAsync<ConcurrencyConflictException>(() => store.PutAsync(path, Utf8("second"), WriteCondition.IfNotExists));

        Assert.Equal(path, ex.Path);
        Assert.False(ex.IsTransient);
        var read = await store.TryGetAsync(path);
        Assert.Equal("first", Encoding.UTF8.GetString(read!.Content));
        Assert.Equal(etag, read.ETag);
    }

    [Fact]
    public async Task Put_if_match_with_a_stale_etag_conflicts_and_leaves_the_blob_unchanged()
    {
        var store = await CreateStoreAsync();
        var path = $"{NewContainer()}/state.json";
        var stale = await store.PutAsync(path, Utf8("v1"), WriteCondition.None);
        var current = await store.PutAsync(path, Utf8("v2"), WriteCondition.IfMatch(stale));

        await Assert.ThrowsAsync<ConcurrencyConflictException>(() => store.PutAsync(path, Utf8("v3"), WriteCondition.IfMatch(stale)));

        var read = await store.TryGetAsync(path);
        Assert.Equal("v2", Encoding.UTF8.GetString(read!.Content));
        Assert.Equal(current, read.ETag);
    }

    [Fact]
    public async Task Put_if_match_with_the_current_etag_writes_and_returns_a_new_etag()
    {
        var store = await CreateStoreAsync();
        var path = $"{NewContainer()}/state.json";
        await store.PutAsync(path, Utf8("v1"), WriteCondition.None);
        var before = (await store.TryGetAsync(path))!.ETag;

        var after = await store.PutAsync(path, Utf8("v2"), WriteCondition.IfMatch(before));

        Assert.NotEqual(before, after);
        var read = await store.TryGetAsync(path);
        Assert.Equal("v2", Encoding.UTF8.GetString(read!.Content));
        Assert.Equal(after, read.ETag);
    }

    [Fact]
    public async Task Put_if_match_on_a_missing_blob_conflicts_and_creates_nothing()
    {
        var store = await CreateStoreAsync();
        var container = NewContainer();
        var other = await store.PutAsync($"{container}/other.json", Utf8("x"), WriteCondition.None);

        await Assert.ThrowsAsync<ConcurrencyConflictException>(() => store.PutAsync($"{container}/missing.json", Utf8("y"), WriteCondition.IfMatch(other)));

        Assert.Null(await store.TryGetAsync($"{container}/missing.json"));
    }

    [Fact]
    public async Task Unconditional_put_overwrites_and_changes_the_etag()
    {
        var store = await CreateStoreAsync();
        var path = $"{NewContainer()}/x.txt";
        var first = await store.PutAsync(path, Utf8("one"), WriteCondition.None);
        var second = await store.PutAsync(path, Utf8("two, longer"), WriteCondition.None);

        Assert.NotEqual(first, second);
        Assert.Equal("two, longer", Encoding.UTF8.GetString((await store.TryGetAsync(path))!.Content));
    }

    [Fact]
    public async Task Append_creates_a_missing_blob_then_appends_and_each_append_changes_the_etag()
    {
        var store = await CreateStoreAsync();
        var path = $"{NewContainer()}/log/1015.jsonl";

        await store.AppendAsync(path, Utf8("line1\n"));
        var afterFirst = await store.TryGetAsync(path);
        await store.AppendAsync(path, Utf8("line2\n"));
        var afterSecond = await store.TryGetAsync(path);

        Assert.Equal("line1\n", Encoding.UTF8.GetString(afterFirst!.Content));
        Assert.Equal("line1\nline2\n", Encoding.UTF8.GetString(afterSecond!.Content));
        Assert.NotEqual(afterFirst.ETag, afterSecond.ETag);
    }

    [Fact]
    public async Task Etag_read_after_an_append_guards_a_conditional_put()
    {
        var store = await CreateStoreAsync();
        var path = $"{NewContainer()}/log.jsonl";
        await store.AppendAsync(path, Utf8("a\n"));
        var etag = (await store.TryGetAsync(path))!.ETag;
        await store.AppendAsync(path, Utf8("b\n"));

        await Assert.ThrowsAsync<ConcurrencyConflictException>(() => store.PutAsync(path, Utf8("replaced"), WriteCondition.IfMatch(etag)));
        var current = (await store.TryGetAsync(path))!.ETag;
        await store.PutAsync(path, Utf8("replaced"), WriteCondition.IfMatch(current));
        Assert.Equal("replaced", Encoding.UTF8.GetString((await store.TryGetAsync(path))!.Content));
    }

    [Fact]
    public async Task Append_of_a_block_larger_than_4_MiB_round_trips()
    {
        var store = await CreateStoreAsync();
        var path = $"{NewContainer()}/large.bin";
        var head = Utf8("head\n");
        var big = new byte[5 * 1024 * 1024 + 1];
        new Random(7).NextBytes(big);

        await store.CreateAppendBlobAsync(path);
        await store.AppendAsync(path, head);
        await store.AppendAsync(path, big);

        var read = await store.TryGetAsync(path);
        Assert.Equal(head.Concat(big).ToArray(), read!.Content);
    }

    [Fact]
    public async Task Create_append_blob_truncates_an_existing_blob_and_accepts_appends()
    {
        var store = await CreateStoreAsync();
        var path = $"{NewContainer()}/batch.jsonl";
        await store.AppendAsync(path, Utf8("old line\n"));

        await store.CreateAppendBlobAsync(path);
        var empty = await store.TryGetAsync(path);
        await store.AppendAsync(path, Utf8("new line\n"));

        Assert.NotNull(empty);
        Assert.Empty(empty.Content);
        Assert.Equal("new line\n", Encoding.UTF8.GetString((await store.TryGetAsync(path))!.Content));
    }

    [Fact]
    public async Task Create_append_blob_replaces_a_block_blob()
    {
        var store = await CreateStoreAsync();
        var path = $"{NewContainer()}/batch.jsonl";
        await store.PutAsync(path, Utf8("block content"), WriteCondition.None);

        await store.CreateAppendBlobAsync(path);
        await store.AppendAsync(path, Utf8("x"));

        Assert.Equal("x", Encoding.UTF8.GetString((await store.TryGetAsync(path))!.Content));
    }

    [Fact]
    public async Task List_returns_thirty_blobs_in_ordinal_order()
    {
        var store = await CreateStoreAsync();
        var container = NewContainer();
        var names = Enumerable.Range(0, 30).Select(i => $"{container}/batches/item-{i}.jsonl").ToList();
        foreach (var name in names.OrderBy(_ => Guid.NewGuid()))
            await store.PutAsync(name, Utf8(name), WriteCondition.None);

        var listed = await ListAll(store, $"{container}/batches/");

        var expected = names.OrderBy(n => n, StringComparer.Ordinal).ToList();
        Assert.Equal(expected, listed);
        Assert.Equal($"{container}/batches/item-0.jsonl", listed[0]);
        Assert.Equal($"{container}/batches/item-1.jsonl", listed[1]);
        Assert.Equal($"{container}/batches/item-10.jsonl", listed[2]); // ordinal, not numeric
    }

    [Fact]
    public async Task List_filters_by_a_prefix_that_ends_mid_segment_and_stays_in_its_container()
    {
        var store = await CreateStoreAsync();
        var container = NewContainer();
        var neighbour = NewContainer();
        string[] all =
        [
            $"{container}/autosave/2026/11/20/1000.jsonl",
            $"{container}/autosave/2026/11/20/1015.jsonl",
            $"{container}/autosave/2026/11/21/0000.jsonl",
            $"{container}/autosave/2026/11/3/0000.jsonl",
            $"{container}/autosave/2026/12/20/0000.jsonl",
            $"{container}/autosave-old/2026/11/20/1000.jsonl",
            $"{container}/other/x.json",
        ];
        foreach (var p in all)
            await store.PutAsync(p, Utf8("x"), WriteCondition.None);
        await store.PutAsync($"{neighbour}/autosave/2026/11/20/1000.jsonl", Utf8("x"), WriteCondition.None);

        Assert.Equal(
            [$"{container}/autosave/2026/11/20/1000.jsonl", $"{container}/autosave/2026/11/20/1015.jsonl", $"{container}/autosave/2026/11/21/0000.jsonl"],
            await ListAll(store, $"{container}/autosave/2026/11/2"));
        Assert.Equal(6, (await ListAll(store, $"{container}/autosave")).Count);
        Assert.Equal(5, (await ListAll(store, $"{container}/autosave/")).Count);
        Assert.Equal(all.OrderBy(p => p, StringComparer.Ordinal), await ListAll(store, $"{container}/"));
        Assert.Equal(all.OrderBy(p => p, StringComparer.Ordinal), await ListAll(store, container));
        Assert.Empty(await ListAll(store, $"{container}/nothing-here"));
    }

    [Fact]
    public async Task List_of_an_unknown_container_is_empty()
    {
        var store = await CreateStoreAsync();
        Assert.Empty(await ListAll(store, $"{NewContainer()}/"));
    }

    [Fact]
    public async Task Delete_removes_the_blob_and_reports_whether_it_existed()
    {
        var store = await CreateStoreAsync();
        var container = NewContainer();
        await store.PutAsync($"{container}/keep.txt", Utf8("k"), WriteCondition.None);
        await store.PutAsync($"{container}/drop.txt", Utf8("d"), WriteCondition.None);

        Assert.True(await store.DeleteAsync($"{container}/drop.txt"));
        Assert.False(await store.DeleteAsync($"{container}/drop.txt"));
        Assert.False(await store.DeleteAsync($"{NewContainer()}/never.txt"));

        Assert.Null(await store.TryGetAsync($"{container}/drop.txt"));
        Assert.Equal([$"{container}/keep.txt"], await ListAll(store, container));
        // A deleted blob can be created again with IfNotExists.
        await store.PutAsync($"{container}/drop.txt", Utf8("again"), WriteCondition.IfNotExists);
    }

    [Fact]
    public async Task Names_with_nested_segments_spaces_and_non_ascii_round_trip_and_list()
    {
        var store = await CreateStoreAsync();
        var container = NewContainer();
        var path = $"{container}/rejected/2026-11-20T10:15:00Z/Größe und Zeit.jsonl";

        await store.PutAsync(path, Utf8("ü"), WriteCondition.None);

        Assert.Equal("ü", Encoding.UTF8.GetString((await store.TryGetAsync(path))!.Content));
        Assert.Equal([path], await ListAll(store, $"{container}/rejected/"));
    }

    [Theory]
    [InlineData("")]
    [InlineData("no-name-part")]
    [InlineData("ab/too-short-container.txt")]
    [InlineData("Upper/blob.txt")]
    [InlineData("under_score/blob.txt")]
    [InlineData("double--dash/blob.txt")]
    [InlineData("-leading/blob.txt")]
    public async Task An_invalid_container_or_missing_name_is_an_argument_error(string path)
    {
        var store = await CreateStoreAsync();
        await Assert.ThrowsAnyAsync<ArgumentException>(() => store.PutAsync(path, Utf8("x"), WriteCondition.None));
        await Assert.ThrowsAnyAsync<ArgumentException>(() => store.TryGetAsync(path));
    }

    [Fact]
    public async Task Concurrent_read_modify_write_with_if_match_loses_no_update()
    {
        var store = await CreateStoreAsync();
        var path = $"{NewContainer()}/counter.txt";
        await store.PutAsync(path, Utf8("0"), WriteCondition.IfNotExists);
        const int workers = 6, incrementsEach = 8;

        await Task.WhenAll(Enumerable.Range(0, workers).Select(_ => Task.Run(async () =>
        {
            for (var i = 0; i < incrementsEach; i++)
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
                    catch (ConcurrencyConflictException)
                    {
                        // lost the race: re-read and retry
                    }
                }
            }
        })));

        Assert.Equal((workers * incrementsEach).ToString(), Encoding.UTF8.GetString((await store.TryGetAsync(path))!.Content));
    }
}
