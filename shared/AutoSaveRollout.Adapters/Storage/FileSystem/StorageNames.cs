using System.Text.RegularExpressions;

namespace AutoSaveRollout.Adapters.Storage.FileSystem;

/// <summary>
/// Name rules shared by the embedded storage adapters. Container and queue names follow Azure's rules
/// (learn.microsoft.com "Naming and referencing containers, blobs, and metadata" / "Naming queues and metadata"):
/// 3–63 characters, lowercase letters, digits and single '-' between alphanumerics.
/// </summary>
internal static partial class StorageNames
{
    [GeneratedRegex("^[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62}$", RegexOptions.CultureInvariant)]
    private static partial Regex AzureContainerOrQueueName();

    /// <summary>True when <paramref name="name"/> is a valid Azure container / queue name.</summary>
    public static bool IsValidContainerOrQueueName(string? name) => name is not null && AzureContainerOrQueueName().IsMatch(name);

    /// <summary>Throws <see cref="ArgumentException"/> when <paramref name="name"/> is not a valid queue name.</summary>
    public static void ValidateQueueName(string name, string paramName)
    {
        ArgumentNullException.ThrowIfNull(name, paramName);
        if (!IsValidContainerOrQueueName(name))
            throw new ArgumentException(
                $"'{name}' is not a valid queue name: 3-63 characters, lowercase letters, digits and single '-' between them", paramName);
    }
}
