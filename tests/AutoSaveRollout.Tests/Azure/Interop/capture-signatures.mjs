// Captures requests that Microsoft's JS storage clients (@azure/storage-blob, @azure/storage-queue) sign with Shared Key.
// A local HTTP server stands in for the service: it records method, URL, headers and body of every request and answers
// with a minimal success response. Output: one JSON array on stdout, [{op, method, url, headers, bodyBase64}].
// The C# tests rebuild each request and check that SharedKeyAuthenticator produces the same Authorization header.
import http from "node:http";
import { BlobServiceClient, StorageSharedKeyCredential } from "@azure/storage-blob";
import { QueueServiceClient, StorageSharedKeyCredential as QueueKeyCredential } from "@azure/storage-queue";

const account = "devstoreaccount1";
const key = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
const captured = [];
let currentOp = "";

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    captured.push({
      op: currentOp,
      method: req.method,
      url: req.url,
      headers: req.headers,
      bodyBase64: Buffer.concat(chunks).toString("base64"),
    });
    const now = new Date().toUTCString();
    const common = { "x-ms-request-id": "r", "x-ms-version": "2025-05-05", date: now };
    if (req.method === "GET" && req.url.includes("comp=list")) {
      res.writeHead(200, { ...common, "content-type": "application/xml" });
      res.end(`<?xml version="1.0" encoding="utf-8"?><EnumerationResults ServiceEndpoint="x" ContainerName="c"><Blobs/><NextMarker/></EnumerationResults>`);
    } else if (req.method === "POST" && req.url.includes("/messages")) {
      res.writeHead(201, { ...common, "content-type": "application/xml" });
      res.end(`<?xml version="1.0" encoding="utf-8"?><QueueMessagesList><QueueMessage><MessageId>m1</MessageId><InsertionTime>${now}</InsertionTime><ExpirationTime>${now}</ExpirationTime><PopReceipt>p</PopReceipt><TimeNextVisible>${now}</TimeNextVisible></QueueMessage></QueueMessagesList>`);
    } else if (req.method === "DELETE") {
      res.writeHead(req.url.includes("/messages/") ? 204 : 202, common);
      res.end();
    } else if (req.url.includes("comp=lease")) {
      res.writeHead(201, { ...common, etag: '"0x1"', "last-modified": now, "x-ms-lease-id": req.headers["x-ms-proposed-lease-id"] ?? "l" });
      res.end();
    } else {
      res.writeHead(201, { ...common, etag: '"0x1"', "last-modified": now, "x-ms-request-server-encrypted": "true" });
      res.end();
    }
  });
});

await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
const port = server.address().port;
const options = { retryOptions: { maxTries: 1 } };
const blobService = new BlobServiceClient(`http://127.0.0.1:${port}/${account}`, new StorageSharedKeyCredential(account, key), options);
const queueService = new QueueServiceClient(`http://127.0.0.1:${port}/${account}`, new QueueKeyCredential(account, key), options);

try {
  const container = blobService.getContainerClient("vectors");
  currentOp = "put-block-blob-if-none-match";
  await container.getBlockBlobClient("2026/11/20/10 15.jsonl").upload("hello\n", 6, { conditions: { ifNoneMatch: "*" } });
  currentOp = "put-block-blob-if-match";
  await container.getBlockBlobClient("état/ü.json").upload("{}", 2, { conditions: { ifMatch: '"0x8DDA1B2C3D4E5F6"' } });
  currentOp = "append-block";
  await container.getAppendBlobClient("logs/a+b.log").appendBlock("line\n", 5);
  currentOp = "list-blobs-prefix";
  await container.listBlobsFlat({ prefix: "2026/11 20+x/" }).byPage({ maxPageSize: 7 }).next();
  currentOp = "lease-acquire";
  await container.getBlobClient("locks/collector").getBlobLeaseClient("9c8f5e7a-2b1d-4c3e-8f6a-1b2c3d4e5f60").acquireLease(30);
  currentOp = "delete-blob";
  await container.getBlobClient("2026/x.jsonl").delete();
  const queue = queueService.getQueueClient("rollout-windows");
  currentOp = "queue-put-message";
  await queue.sendMessage("eyJ3aW5kb3ciOiIyMDI2LTExLTIwVDEwOjE1OjAwWiJ9", { visibilityTimeout: 5 });
  currentOp = "queue-delete-message";
  await queue.deleteMessage("a1b2c3", "AgAAAAMAAAAAAAAA+/x=Zz9");
} finally {
  server.close();
}
process.stdout.write(JSON.stringify(captured));
