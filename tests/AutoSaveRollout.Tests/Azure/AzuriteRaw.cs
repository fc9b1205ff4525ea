using Azure;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using AutoSaveRollout.Tests.Support;

namespace AutoSaveRollout.Tests.Azure;

/// <summary>
/// Direct SDK calls to the test Azurite, for observing what the ports cannot show (blob properties) and for doing what
/// another party would do (breaking a lease).
/// </summary>
internal static class AzuriteRaw
{
    /// <summary>Get Blob Properties of <c>container/name</c>, or null on 404.</summary>
    public static async Task<BlobProperties?> PropertiesAsync(AzuriteFixture azurite, string path)
    {
        try
        {
            return (await Blob(azurite, path).GetPropertiesAsync()).Value;
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            return null;
        }
    }

    /// <summary>Breaks the lease on <c>container/name</c> immediately (break period 0).</summary>
    public static async Task BreakLeaseAsync(AzuriteFixture azurite, string path) =>
        await Blob(azurite, path).GetBlobLeaseClient().BreakAsync(TimeSpan.Zero);

    private static BlobBaseClient Blob(AzuriteFixture azurite, string path)
    {
        var slash = path.IndexOf('/');
        return azurite.BlobStore().Service.GetBlobContainerClient(path[..slash]).GetBlobBaseClient(path[(slash + 1)..]);
    }
}
