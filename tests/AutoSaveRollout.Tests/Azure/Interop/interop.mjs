// Reads and writes blobs and queue messages with Microsoft's JS clients against the Azurite the C# tests started.
// Env: AZURE_STORAGE_CONNECTION_STRING, CONTAINER, BLOB, APPEND_BLOB, QUEUE, TEXT (write mode).
// Usage: node interop.mjs read   → JSON {blob, blobEtag, append, listed[], messages[{messageText, dequeueCount}]}
//        node interop.mjs write  → JSON {blobEtag, messageId}
import { BlobServiceClient } from "@azure/storage-blob";
import { QueueServiceClient } from "@azure/storage-queue";

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`missing env ${name}`);
  return value;
};
const cs = env("AZURE_STORAGE_CONNECTION_STRING");
const options = { retryOptions: { maxTries: 1 } };
const container = BlobServiceClient.fromConnectionString(cs, options).getContainerClient(env("CONTAINER"));
const queue = QueueServiceClient.fromConnectionString(cs, options).getQueueClient(env("QUEUE"));
const mode = process.argv[2];

async function text(blobClient) {
  const buffer = await blobClient.downloadToBuffer();
  return buffer.toString("utf8");
}

if (mode === "read") {
  const blob = container.getBlobClient(env("BLOB"));
  const props = await blob.getProperties();
  const listed = [];
  for await (const item of container.listBlobsFlat()) listed.push(item.name);
  const received = await queue.receiveMessages({ numberOfMessages: 32, visibilityTimeout: 30 });
  process.stdout.write(JSON.stringify({
    blob: await text(blob),
    blobEtag: props.etag,
    append: await text(container.getBlobClient(env("APPEND_BLOB"))),
    appendType: (await container.getBlobClient(env("APPEND_BLOB")).getProperties()).blobType,
    listed,
    messages: received.receivedMessageItems.map((m) => ({ messageText: m.messageText, dequeueCount: m.dequeueCount })),
  }));
} else if (mode === "write") {
  const payload = env("TEXT");
  await container.createIfNotExists();
  const uploaded = await container.getBlockBlobClient(env("BLOB")).upload(payload, Buffer.byteLength(payload));
  const append = container.getAppendBlobClient(env("APPEND_BLOB"));
  await append.create();
  await append.appendBlock("first\n", 6);
  await append.appendBlock("second\n", 7);
  await queue.createIfNotExists();
  // What an Azure Functions producer writes: Base64 of the UTF-8 text (host.json messageEncoding default).
  const sent = await queue.sendMessage(Buffer.from(payload, "utf8").toString("base64"));
  process.stdout.write(JSON.stringify({ blobEtag: uploaded.etag, messageId: sent.messageId }));
} else {
  throw new Error("mode must be read or write");
}
