// Prints an account SAS token (no leading '?') made by Microsoft's @azure/storage-blob for the account in
// AZURE_STORAGE_CONNECTION_STRING. Args: permissions (e.g. "rwdlacup"), services (default "bq"), resource types (default "sco").
import {
  AccountSASPermissions, AccountSASResourceTypes, AccountSASServices, SASProtocol,
  StorageSharedKeyCredential, generateAccountSASQueryParameters,
} from "@azure/storage-blob";

const cs = process.env.AZURE_STORAGE_CONNECTION_STRING ?? "";
const setting = (name) => cs.split(";").map((p) => p.trim()).find((p) => p.toLowerCase().startsWith(name.toLowerCase() + "="))?.slice(name.length + 1);
const [permissions = "rwdlacup", services = "bq", resourceTypes = "sco"] = process.argv.slice(2);
const credential = new StorageSharedKeyCredential(setting("AccountName"), setting("AccountKey"));
const token = generateAccountSASQueryParameters({
  startsOn: new Date(Date.now() - 5 * 60_000),
  expiresOn: new Date(Date.now() + 60 * 60_000),
  permissions: AccountSASPermissions.parse(permissions),
  services: AccountSASServices.parse(services).toString(),
  resourceTypes: AccountSASResourceTypes.parse(resourceTypes).toString(),
  protocol: SASProtocol.HttpsAndHttp,
}, credential).toString();
process.stdout.write(token);
