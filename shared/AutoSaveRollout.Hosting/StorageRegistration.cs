using AutoSaveRollout.Adapters.Storage.FileSystem;
using AutoSaveRollout.Azure;
using AutoSaveRollout.Core.Ports;
using Microsoft.Extensions.Configuration;

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
    /// Opens the storage of <paramref name="storage"/>: the embedded folder, or Azure storage through the Azure SDK
    /// (<see cref="AzureStorageRegistration"/>) from the connection in the Functions convention read from
    /// <paramref name="configuration"/> (a connection string, or <c>__blobServiceUri</c>/<c>__queueServiceUri</c>/
    /// <c>__credential</c>/<c>__clientId</c>); an inline connection string (<c>--connection</c>) overrides the setting.
    /// <paramref name="messageEncoding"/> <c>none</c> sends queue messages as plain text (host.json). Throws
    /// <see cref="ConfigurationException"/> with one line naming the setting for bad settings or a refused identity.
    /// </summary>
    public static StoragePorts Open(StorageSelection storage, IConfiguration configuration, TimeProvider time, string messageEncoding)
    {
        ArgumentNullException.ThrowIfNull(storage);
        if (storage.Kind == StorageKind.Azure) return OpenAzure(storage, configuration, messageEncoding);
        var root = Path.GetFullPath(storage.Root!);
        Directory.CreateDirectory(root);
        return new StoragePorts(new FileBlobStore(PipelineFactory.BlobRoot(root)), new FileQueueFactory(root, time), new FileDistributedLock(root, time),
            "embedded folder " + root + " (blobs under blobs/)");
    }

    private static StoragePorts OpenAzure(StorageSelection storage, IConfiguration configuration, string messageEncoding)
    {
        var name = storage.ConnectionName ?? AzureStorageOptions.DefaultConnectionName;
        var source = storage.ConnectionString is { } inline
            ? new ConfigurationBuilder().AddInMemoryCollection([new KeyValuePair<string, string?>(name, inline)]).Build()
            : configuration;
        var options = storage.AzureOptions ?? new AzureStorageOptions();
        if (messageEncoding == "none") options.MessageEncoding = global::Azure.Storage.Queues.QueueMessageEncoding.None;
        try
        {
            var azure = AzureStorageRegistration.Create(source, name, options);
            azure.VerifyAccessAsync(options.LockContainer).GetAwaiter().GetResult();
            return new StoragePorts(azure.Blobs, azure.Queues, azure.Locks, azure.Description);
        }
        catch (AzureStorageConfigurationException ex) { throw new ConfigurationException(ex.Message); }
    }
}
