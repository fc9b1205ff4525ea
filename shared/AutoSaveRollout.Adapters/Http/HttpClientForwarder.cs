namespace AutoSaveRollout.Adapters.Http;

/// <summary>
/// Lets a Refit-generated client send through an existing, shared <see cref="HttpClient"/> that has no
/// <see cref="HttpClient.BaseAddress"/> (Refit refuses to send on such a client, even for an absolute <c>[Url]</c>,
/// and a shared client's properties must not be changed once it has sent). The returned client only carries the base
/// address; each request is copied (method, absolute URI, version, headers, the same content object) and sent by the
/// shared client with <see cref="HttpCompletionOption.ResponseHeadersRead"/>, so the shared client's
/// handler, default headers and <see cref="HttpClient.Timeout"/> apply and the bytes on the wire are the same.
/// </summary>
internal static class HttpClientForwarder
{
    /// <summary>A client with <paramref name="baseAddress"/> and no timeout of its own that sends through <paramref name="shared"/>.</summary>
    public static HttpClient Wrap(HttpClient shared, Uri baseAddress) =>
        new(new ForwardingHandler(shared), disposeHandler: true) { BaseAddress = baseAddress, Timeout = Timeout.InfiniteTimeSpan };

    private sealed class ForwardingHandler(HttpClient shared) : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            // HttpClient refuses a request another HttpClient already sent, so the shared client gets a copy.
            var copy = new HttpRequestMessage(request.Method, request.RequestUri)
            {
                Version = request.Version,
                VersionPolicy = request.VersionPolicy,
                Content = request.Content,
            };
            // NonValidated: the values as set, not re-formatted by parsing ("a;b" would become "a; b").
            foreach (var (name, values) in request.Headers.NonValidated)
                copy.Headers.TryAddWithoutValidation(name, values);
            foreach (var (key, value) in request.Options)
                ((IDictionary<string, object?>)copy.Options)[key] = value;
            return shared.SendAsync(copy, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        }
    }
}
