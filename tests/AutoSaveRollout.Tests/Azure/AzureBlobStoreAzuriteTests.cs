using System.Text;
using AutoSaveRollout.Azure;
using AutoSaveRollout.Core.Ports;
using AutoSaveRollout.Tests.Support;

namespace AutoSaveRollout.Tests.Azure;

[Collection(AzuriteCollection.Name)]
public sealed class AzureBlobStoreAzuriteTests(AzuriteFixture azurite) : IDisposable
{
    private readonly HttpClient _http = azurite.CreateHttpClient();
    private readonly string _container = AzuriteFixture.UniqueName("blobs");

    private AzureBlobStore Store => azurite.BlobStore();

    public void Dispose() => _http.Dispose();

    [Fact]
    public async Task Put_creates_the_container_and_get_returns_content_and_the_same_etag()
    {
        var path = $"{_container}/2026/11/20/1015.jsonl";
        var etag = await Store.PutAsync(path, "line1\nline2\n"u8.ToArray(), WriteCondition.None);

        var blob = await Store.TryGetAsync(path);

        Assert.NotNull(blob);
        Assert.Equal("line1\nline2\n", Encoding.UTF8.GetString(blob.Content));
        Assert.Equal(etag, blob.ETag);
        Assert.StartsWith("\"", etag);
    }

    [Fact]
    public async Task Names_with_spaces_plus_signs_and_non_ascii_round_trip_and_list()
    {
        string[] paths = [$"{_container}/a b/c+d.json", $"{_container}/é/ü 1.json", $"{_container}/x%y/z=1&w.json"];
        foreach (var p in paths) await Store.PutAsync(p, Encoding.UTF8.GetBytes(p), WriteCondition.None);

        foreach (var p in paths) Assert.Equal(p, Encoding.UTF8.GetString((await Store.TryGetAsync(p))!.Content));
        Assert.Equal(paths.OrderBy(p => p, StringComparer.Ordinal), await ToListAsync(Store.ListAsync($"{_container}/")));
        Assert.Equal([$"{_container}/é/ü 1.json"], await ToListAsync(Store.ListAsync($"{_container}/é/ü")));
    }

    [Fact]
    public async Task If_not_exists_on_an_existing_blob_is_a_conflict_409_BlobAlreadyExists()
    {
        var path = $"{_container}/once.json";
        await Store.PutAsync(path, "1"u8.ToArray(), WriteCondition.IfNotExists);

        var ex = await Assert.ThrowsAsync<ConcurrencyConflictException>(() => Store.PutAsync(path, "2"u8.ToArray(), WriteCondition.IfNotExists));

        Assert.Equal(409, ex.Status);
        Assert.Equal("BlobAlreadyExists", ex.ErrorCode);
        Assert.Equal(path, ex.Path);
        Assert.False(ex.IsTransient);
        Assert.Equal("1", Encoding.UTF8.GetString((await Store.TryGetAsync(path))!.Content));
    }

    [Fact]
    public async Task If_match_succeeds_with_the_current_etag_and_conflicts_412_with_a_stale_one()
    {
        var path = $"{_container}/cursor.json";
        var first = await Store.PutAsync(path, "v1"u8.ToArray(), WriteCondition.None);
        var second = await Store.PutAsync(path, "v2"u8.ToArray(), WriteCondition.IfMatch(first));

        var ex = await Assert.ThrowsAsync<ConcurrencyConflictException>(() => Store.PutAsync(path, "v3"u8.ToArray(), WriteCondition.IfMatch(first)));

        Assert.NotEqual(first, second);
        Assert.Equal(412, ex.Status);
        Assert.Equal("ConditionNotMet", ex.ErrorCode);
        Assert.Equal("v2", Encoding.UTF8.GetString((await Store.TryGetAsync(path))!.Content));
    }

    [Fact]
    public async Task If_match_on_a_missing_blob_or_container_is_a_conflict()
    {
        await Assert.ThrowsAsync<ConcurrencyConflictException>(() =>
            Store.PutAsync($"{AzuriteFixture.UniqueName("nocontainer")}/x.json", "x"u8.ToArray(), WriteCondition.IfMatch("\"0x1\"")));
        await Store.PutAsync($"{_container}/other.json", "x"u8.ToArray(), WriteCondition.None);
        await Assert.ThrowsAsync<ConcurrencyConflictException>(() =>
            Store.PutAsync($"{_container}/missing.json", "x"u8.ToArray(), WriteCondition.IfMatch("\"0x1\"")));
    }

    [Fact]
    public async Task Missing_blobs_and_containers_read_as_null()
    {
        await Store.PutAsync($"{_container}/present.json", "x"u8.ToArray(), WriteCondition.None);

        Assert.Null(await Store.TryGetAsync($"{_container}/absent.json"));
        Assert.Null(await Store.TryGetAsync($"{AzuriteFixture.UniqueName("ghost")}/absent.json"));
        Assert.Null(await Store.TryOpenReadAsync($"{_container}/absent.json"));
    }

    [Fact]
    public async Task Open_read_streams_the_whole_blob()
    {
        var content = new byte[3 * 1024 * 1024 + 17];
        new Random(7).NextBytes(content);
        var path = $"{_container}/big.bin";
        await Store.PutAsync(path, content, WriteCondition.None);

        await using var stream = await Store.TryOpenReadAsync(path);
        using var copy = new MemoryStream();
        await stream!.CopyToAsync(copy);

        Assert.Equal(content, copy.ToArray());
    }

    [Fact]
    public async Task Append_creates_missing_blob_and_container_and_appends_in_order()
    {
        var path = $"{_container}/logs/rejected.jsonl";
        await Store.AppendAsync(path, "a\n"u8.ToArray());
        await Store.AppendAsync(path, "b\n"u8.ToArray());
        await Store.AppendAsync(path, ReadOnlyMemory<byte>.Empty);

        Assert.Equal("a\nb\n", Encoding.UTF8.GetString((await Store.TryGetAsync(path))!.Content));
        var head = await AzuriteRaw.PropertiesAsync(azurite, path);
        Assert.Equal(global::Azure.Storage.Blobs.Models.BlobType.Append, head!.BlobType);
        Assert.Equal(2, head.BlobCommittedBlockCount);
    }

    [Fact]
    public async Task Empty_append_to_a_missing_blob_creates_an_empty_append_blob()
    {
        var path = $"{_container}/empty.log";
        await Store.AppendAsync(path, ReadOnlyMemory<byte>.Empty);

        Assert.Empty((await Store.TryGetAsync(path))!.Content);
    }

    [Fact]
    public async Task Create_append_blob_replaces_existing_content()
    {
        var path = $"{_container}/reset.log";
        await Store.AppendAsync(path, "old"u8.ToArray());

        await Store.CreateAppendBlobAsync(path);
        await Store.AppendAsync(path, "new"u8.ToArray());

        Assert.Equal("new", Encoding.UTF8.GetString((await Store.TryGetAsync(path))!.Content));
    }

    [Fact]
    public async Task Appends_over_4_MiB_are_split_into_blocks_of_at_most_4_MiB()
    {
        var path = $"{_container}/large.log";
        var block = new byte[2 * AzureBlobStore.MaxAppendBlockBytes + 3];
        new Random(11).NextBytes(block);

        await Store.AppendAsync(path, block);

        Assert.Equal(block, (await Store.TryGetAsync(path))!.Content);
        var head = await AzuriteRaw.PropertiesAsync(azurite, path);
        Assert.Equal(3, head!.BlobCommittedBlockCount);
    }

    [Fact]
    public async Task Append_to_a_block_blob_fails_permanently_with_InvalidBlobType()
    {
        var path = $"{_container}/block.json";
        await Store.PutAsync(path, "{}"u8.ToArray(), WriteCondition.None);

        var ex = await Assert.ThrowsAsync<StorageException>(() => Store.AppendAsync(path, "x"u8.ToArray()));

        Assert.Equal(409, ex.Status);
        Assert.Equal("InvalidBlobType", ex.ErrorCode);
        Assert.False(ex.IsTransient);
        Assert.Contains(path, ex.Message);
    }

    [Fact]
    public async Task List_follows_NextMarker_across_pages_and_filters_by_prefix()
    {
        var store = Store;
        store.ListPageSize = 2;
        var expected = new List<string>();
        for (var i = 0; i < 7; i++)
        {
            var p = $"{_container}/2026/11/20/{i:D4}.jsonl";
            expected.Add(p);
            await store.PutAsync(p, "x"u8.ToArray(), WriteCondition.None);
        }
        await store.PutAsync($"{_container}/2026/11/21/0000.jsonl", "x"u8.ToArray(), WriteCondition.None);
        await store.PutAsync($"{_container}/other/0000.jsonl", "x"u8.ToArray(), WriteCondition.None);

        Assert.Equal(expected, await ToListAsync(store.ListAsync($"{_container}/2026/11/20/")));
        Assert.Equal(9, (await ToListAsync(store.ListAsync($"{_container}/"))).Count);
        Assert.Equal(8, (await ToListAsync(store.ListAsync($"{_container}/2026"))).Count);
    }

    [Fact]
    public async Task List_with_a_container_name_prefix_spans_containers_in_ordinal_path_order()
    {
        var stem = AzuriteFixture.UniqueName("span")[..20];
        await Store.PutAsync($"{stem}/b.json", "x"u8.ToArray(), WriteCondition.None);
        await Store.PutAsync($"{stem}-2/a.json", "x"u8.ToArray(), WriteCondition.None);

        var listed = await ToListAsync(Store.ListAsync(stem));

        Assert.Equal([$"{stem}-2/a.json", $"{stem}/b.json"], listed);
    }

    [Fact]
    public async Task List_of_a_missing_container_is_empty()
    {
        Assert.Empty(await ToListAsync(Store.ListAsync($"{AzuriteFixture.UniqueName("none")}/")));
    }

    [Fact]
    public async Task Delete_reports_whether_the_blob_existed()
    {
        var path = $"{_container}/gone.json";
        await Store.PutAsync(path, "x"u8.ToArray(), WriteCondition.None);

        Assert.True(await Store.DeleteAsync(path));
        Assert.False(await Store.DeleteAsync(path));
        Assert.False(await Store.DeleteAsync($"{AzuriteFixture.UniqueName("nothing")}/x.json"));
        Assert.Null(await Store.TryGetAsync(path));
    }

    [Theory]
    [InlineData("nocontainer")]
    [InlineData("UPPER/x.json")]
    [InlineData("ab/x.json")]
    [InlineData("bad--name/x.json")]
    [InlineData("good-name/")]
    [InlineData("good-name/a//b")]
    [InlineData("good-name/a/../b")]
    [InlineData("good-name/./b")]
    public async Task Invalid_paths_are_rejected_before_any_request(string path)
    {
        await Assert.ThrowsAsync<ArgumentException>(() => Store.PutAsync(path, "x"u8.ToArray(), WriteCondition.None));
    }

    [Fact]
    public async Task A_wrong_account_key_is_a_permanent_403_without_the_key_in_the_message()
    {
        const string wrongKey = "d3Jvbmcta2V5LXdyb25nLWtleS13cm9uZy1rZXktd3Jvbmcta2V5LXdyb25nLWtleQ==";
        var store = azurite.CreatePorts(connectionString: azurite.ConnectionString.Replace(AzuriteFixture.DevelopmentAccountKey, wrongKey)).Blobs;

        var ex = await Assert.ThrowsAsync<StorageException>(() => store.PutAsync($"{_container}/x.json", "x"u8.ToArray(), WriteCondition.None));

        Assert.Equal(403, ex.Status);
        Assert.Equal("AuthorizationFailure", ex.ErrorCode);
        Assert.False(ex.IsTransient);
        Assert.DoesNotContain(wrongKey, ex.ToString());
    }

    private static async Task<List<string>> ToListAsync(IAsyncEnumerable<string> items)
    {
        var list = new List<string>();
        await foreach (var item in items) list.Add(item);
        return list;
    }
}
