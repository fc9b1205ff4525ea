// Development environment. No secrets here: they live in Key Vault (see infra/README.md).
using '../main.bicep'

param environmentName = 'dev'
param storageSku = 'Standard_LRS'
param maximumInstanceCount = 1
param instanceMemoryMB = 2048
param collectorSchedule = '0 */5 * * * *'
param lifecycleSchedule = '0 */5 * * * *'
param initialPhase = 'A'
// Dev renders and records notifications without sending them; flip to false to exercise Slack/PagerDuty/flags.
param reporterDryRun = true
param telemetryUrl = 'https://telemetry.dev.example.invalid/autosave/events'
param telemetryTokenRequired = true
// PagerDuty user the REST API v2 calls act as (From header); the API token is the Key Vault secret pagerduty-api-token.
param pagerDutyFrom = 'autosave-oncall@dev.example.invalid'
param flagServiceBaseUrl = 'https://flags.dev.example.invalid/'
param logRetentionDays = 30
param keyVaultPurgeProtection = false
// Object id of whoever runs `az keyvault secret set` (e.g. `az ad signed-in-user show --query id -o tsv`).
param keyVaultOfficerPrincipalId = ''
