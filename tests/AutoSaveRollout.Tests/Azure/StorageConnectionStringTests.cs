using AutoSaveRollout.Azure;

namespace AutoSaveRollout.Tests.Azure;

public sealed class StorageConnectionStringTests
{
    private const string SecretKey = "c2VjcmV0LWtleS1tYXRlcmlhbC1kby1ub3QtbGVhaw==";
    private const string SecretSig = "sig=TOPSECRETSIGNATURE%2Bvalue%3D";

    [Fact]
    public void Development_storage_uses_the_azurite_well_known_account_and_path_style_endpoints()
    {
        var cs = StorageConnectionString.Parse("UseDevelopmentStorage=true");

        Assert.True(cs.IsDevelopmentStorage);
        Assert.Equal("devstoreaccount1", cs.AccountName);
        Assert.Equal(StorageCredentialKind.SharedKey, cs.CredentialKind);
        Assert.Equal(new Uri("http://127.0.0.1:10000/devstoreaccount1"), cs.BlobEndpoint);
        Assert.Equal(new Uri("http://127.0.0.1:10001/devstoreaccount1"), cs.QueueEndpoint);
        Assert.Equal(Convert.FromBase64String(StorageConnectionString.DevelopmentAccountKey), cs.AccountKey.ToArray());
    }

    [Fact]
    public void Account_key_form_builds_default_https_endpoints_from_the_suffix()
    {
        var cs = StorageConnectionString.Parse($"DefaultEndpointsProtocol=https;AccountName=prodacct;AccountKey={SecretKey};EndpointSuffix=core.chinacloudapi.cn");

        Assert.Equal(new Uri("https://prodacct.blob.core.chinacloudapi.cn"), cs.BlobEndpoint);
        Assert.Equal(new Uri("https://prodacct.queue.core.chinacloudapi.cn"), cs.QueueEndpoint);
        Assert.False(cs.IsDevelopmentStorage);
        Assert.Equal(Convert.FromBase64String(SecretKey), cs.AccountKey.ToArray());
    }

    [Fact]
    public void Missing_protocol_and_suffix_default_to_https_and_core_windows_net_and_keys_are_case_insensitive()
    {
        var cs = StorageConnectionString.Parse($"accountname=prodacct;ACCOUNTKEY={SecretKey};");

        Assert.Equal(new Uri("https://prodacct.blob.core.windows.net"), cs.BlobEndpoint);
        Assert.Equal(new Uri("https://prodacct.queue.core.windows.net"), cs.QueueEndpoint);
    }

    [Fact]
    public void Explicit_endpoints_override_defaults_and_keep_the_emulator_path()
    {
        var cs = StorageConnectionString.Parse(
            $"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={StorageConnectionString.DevelopmentAccountKey};" +
            "BlobEndpoint=http://127.0.0.1:41000/devstoreaccount1/;QueueEndpoint=http://127.0.0.1:41001/devstoreaccount1;TableEndpoint=http://127.0.0.1:41002/devstoreaccount1;");

        Assert.Equal(new Uri("http://127.0.0.1:41000/devstoreaccount1"), cs.BlobEndpoint);
        Assert.Equal(new Uri("http://127.0.0.1:41001/devstoreaccount1"), cs.QueueEndpoint);
    }

    [Fact]
    public void Only_blob_endpoint_given_keeps_the_default_queue_endpoint()
    {
        var cs = StorageConnectionString.Parse($"AccountName=prodacct;AccountKey={SecretKey};BlobEndpoint=https://blobs.example.test");

        Assert.Equal(new Uri("https://blobs.example.test"), cs.BlobEndpoint);
        Assert.Equal(new Uri("https://prodacct.queue.core.windows.net"), cs.QueueEndpoint);
    }

    [Fact]
    public void Sas_form_keeps_the_token_internal_and_infers_the_account()
    {
        var cs = StorageConnectionString.Parse(
            $"BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;QueueEndpoint=http://127.0.0.1:10001/devstoreaccount1;SharedAccessSignature=?sv=2025-05-05&ss=bq&{SecretSig}");

        Assert.Equal(StorageCredentialKind.SharedAccessSignature, cs.CredentialKind);
        Assert.Equal($"sv=2025-05-05&ss=bq&{SecretSig}", cs.SasToken);
        Assert.Equal("devstoreaccount1", cs.AccountName);
        Assert.True(cs.AccountKey.IsEmpty);
    }

    [Fact]
    public void Sas_form_with_azure_host_infers_the_account_from_the_host()
    {
        var cs = StorageConnectionString.Parse($"BlobEndpoint=https://prodacct.blob.core.windows.net;SharedAccessSignature=sv=2025-05-05&{SecretSig}");

        Assert.Equal("prodacct", cs.AccountName);
        Assert.Null(cs.QueueEndpoint);
    }

    [Theory]
    [InlineData($"AccountName=prodacct;AccountKey={SecretKey};Bogus=1", "Bogus")]
    [InlineData($"AccountName=prodacct;AccountKey={SecretKey};AccountName=other", "AccountName")]
    [InlineData($"AccountName=prodacct;AccountKey={SecretKey};DefaultEndpointsProtocol=ftp", "DefaultEndpointsProtocol")]
    [InlineData($"AccountName=prodacct;AccountKey={SecretKey};BlobEndpoint=not a uri", "BlobEndpoint")]
    [InlineData($"AccountName=prodacct;AccountKey={SecretKey};QueueEndpoint=https://q.example.test/?{SecretSig}", "QueueEndpoint")]
    [InlineData($"AccountName=Bad_Name;AccountKey={SecretKey}", "AccountName")]
    [InlineData($"AccountKey={SecretKey}", "AccountName")]
    [InlineData("AccountName=prodacct;AccountKey=%%%not-base64-secret%%%", "AccountKey")]
    [InlineData($"AccountName=prodacct;AccountKey={SecretKey};SharedAccessSignature=sv=1&{SecretSig}", "SharedAccessSignature")]
    [InlineData("SharedAccessSignature=sv=2025-05-05&secretwithoutsignature", "SharedAccessSignature")]
    [InlineData($"SharedAccessSignature=sv=1&{SecretSig}", "BlobEndpoint")]
    [InlineData("UseDevelopmentStorage=false", "UseDevelopmentStorage")]
    [InlineData($"UseDevelopmentStorage=true;AccountKey={SecretKey}", "AccountKey")]
    [InlineData("AccountName=prodacct", "AccountKey")]
    public void Errors_name_the_bad_key_and_never_echo_secrets(string connectionString, string expectedKeyName)
    {
        var ex = Assert.Throws<FormatException>(() => StorageConnectionString.Parse(connectionString));

        Assert.Contains($"'{expectedKeyName}'", ex.Message);
        AssertNoSecrets(ex.Message);
    }

    [Fact]
    public void A_segment_without_equals_is_rejected_without_echoing_it()
    {
        var ex = Assert.Throws<FormatException>(() => StorageConnectionString.Parse($"AccountName=prodacct;{SecretKey.TrimEnd('=')}"));

        AssertNoSecrets(ex.Message);
        Assert.DoesNotContain(SecretKey.TrimEnd('='), ex.Message);
    }

    [Theory]
    [InlineData("")]
    [InlineData(" ; ;")]
    public void Empty_strings_are_rejected(string connectionString) =>
        Assert.Throws<FormatException>(() => StorageConnectionString.Parse(connectionString));

    [Fact]
    public void ToString_describes_account_and_endpoints_without_key_or_sas()
    {
        var keyed = StorageConnectionString.Parse($"DefaultEndpointsProtocol=https;AccountName=prodacct;AccountKey={SecretKey}");
        var sas = StorageConnectionString.Parse($"BlobEndpoint=https://prodacct.blob.core.windows.net;SharedAccessSignature=sv=2025-05-05&{SecretSig}");

        Assert.Equal("AccountName=prodacct;BlobEndpoint=https://prodacct.blob.core.windows.net;QueueEndpoint=https://prodacct.queue.core.windows.net;Credential=SharedKey", keyed.ToString());
        Assert.Equal("AccountName=prodacct;BlobEndpoint=https://prodacct.blob.core.windows.net;Credential=SharedAccessSignature", sas.ToString());
        AssertNoSecrets(keyed.ToString());
        AssertNoSecrets(sas.ToString());
    }

    [Fact]
    public void WithSharedAccessSignature_switches_credentials_and_keeps_endpoints()
    {
        var cs = StorageConnectionString.Parse("UseDevelopmentStorage=true").WithSharedAccessSignature("?sv=2025-05-05&" + SecretSig);

        Assert.Equal(StorageCredentialKind.SharedAccessSignature, cs.CredentialKind);
        Assert.Equal(new Uri("http://127.0.0.1:10000/devstoreaccount1"), cs.BlobEndpoint);
        Assert.True(cs.AccountKey.IsEmpty);
        AssertNoSecrets(cs.ToString());
    }

    private static void AssertNoSecrets(string text)
    {
        Assert.DoesNotContain(SecretKey, text);
        Assert.DoesNotContain("c2VjcmV0", text);
        Assert.DoesNotContain("TOPSECRET", text);
        Assert.DoesNotContain("not-base64-secret", text);
        Assert.DoesNotContain("secretwithoutsignature", text);
        Assert.DoesNotContain(StorageConnectionString.DevelopmentAccountKey, text);
    }
}
