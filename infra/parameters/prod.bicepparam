// Production environment. No secrets here: they live in Key Vault (see infra/README.md).
using '../main.bicep'

param environmentName = 'prod'
param storageSku = 'Standard_ZRS'
// One instance per function scale group keeps the Analyzer strictly sequential (phase steps depend on window order).
param maximumInstanceCount = 1
param instanceMemoryMB = 2048
param collectorSchedule = '0 */5 * * * *'
param lifecycleSchedule = '0 */5 * * * *'
param initialPhase = 'A'
param reporterDryRun = false
param telemetryUrl = 'https://telemetry.example.invalid/autosave/events'
param telemetryTokenRequired = true
// PagerDuty user the REST API v2 calls act as (From header); the API token is the Key Vault secret pagerduty-api-token.
param pagerDutyFrom = 'autosave-oncall@example.invalid'
param flagServiceBaseUrl = 'https://flags.example.invalid/'
param logRetentionDays = 90
param keyVaultPurgeProtection = true
// Object id of the deployment pipeline or group that manages the secrets; empty = grant Key Vault Secrets Officer yourself.
param keyVaultOfficerPrincipalId = ''
param keyVaultOfficerPrincipalType = 'Group'
