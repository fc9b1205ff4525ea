using AutoSaveRollout.Adapters.Storage.FileSystem;
using AutoSaveRollout.Azure;
using AutoSaveRollout.Core.Ports;

namespace AutoSaveRollout.Hosting;

/// <summary>The storage ports of one backend: blobs, queues and the distributed lock, and where they live.</summary>
/// <param name="Blobs">Blob store.</param>
/// <param name="Queues">Queues on the same backend.</param>
/// <param name="Locks">Distributed lock on the same backend.</param>
/// <param name="Description">Where the data lives, for the operator (no secrets).</param>
public sealed record StoragePorts(IBlobStore Blobs, IQueueFactory Queues, IDistributedLock Locks, string Description);

/// <summary>
/// Opens the selected storage backend. The one place that constructs storage adapters: the embedded file store, and the
/// Azure branch (<see cref="OpenAzure"/>), which is built from a connection string.
/// </summary>
public static class StorageRegistration
{
    /// <summary>
    /// Opens <paramref name="storage"/>: the embedded folder (created if missing) or Azure. Throws
    /// <see cref="ConfigurationException"/> for an unusable connection string, never echoing it.
    /// </summary>
    /// <param name="storage">Backend.</param>
    /// <param name="http">HTTP client of the Azure adapters.</param>
    /// <param name="time">Clock of queue times, lock leases and request signing.</param>
    /// <param name="messageEncoding"><c>base64</c> or <c>none</c> (Azure queues).</param>
    public static StoragePorts Open(StorageSelection storage, HttpClient http, TimeProvider time, string messageEncoding)
    {
        ArgumentNullException.ThrowIfNull(storage);
        if (storage.Kind == StorageKind.Azure) return OpenAzure(storage.ConnectionString!, http, time, messageEncoding);
        var root = Path.GetFullPath(storage.Root!);
        Directory.CreateDirectory(root);
        return new StoragePorts(new FileBlobStore(PipelineFactory.BlobRoot(root)), new FileQueueFactory(root, time), new FileDistributedLock(root, time),
            "embedded folder " + root + " (blobs under blobs/)");
    }

    /// <summary>Azure Blob and Queue storage (or Azurite) reached through <paramref name="connectionString"/> (a secret).</summary>
    private static StoragePorts OpenAzure(string connectionString, HttpClient http, TimeProvider time, string messageEncoding)
    {
        StorageConnectionString cs;
        try { cs = StorageConnectionString.Parse(connectionString); }
        catch (FormatException ex) { throw new ConfigurationException("storage connection string: " + ex.Message); }
        try
        {
            return new StoragePorts(
                new AzureBlobStore(cs, http, time),
                new AzureQueueFactory(cs, http, messageEncoding == "none" ? QueueMessageEncoding.None : QueueMessageEncoding.Base64, time),
                new AzureBlobLeaseLock(cs, http, time),
                "azure storage " + cs);
        }
        catch (ArgumentException ex) { throw new ConfigurationException("storage connection string: " + RolloutPipelineRegistration.Reason(ex)); }
    }
}
