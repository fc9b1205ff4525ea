// AutoSave Rollout Monitor: one environment in one resource group.
//   Storage account (pipeline containers + queues, runtime state, deployment package; Shared Key disabled, Entra ID only),
//   Log Analytics + Application Insights, Key Vault (RBAC) with the third-party secrets the app reads through Key Vault
//   references, and the Function App on the Flex Consumption plan (Linux, dotnet-isolated 10.0) with a system-assigned
//   managed identity that reaches storage with data-plane roles.
// Deploy: see infra/README.md. Parameters: infra/parameters/{dev,prod}.bicepparam.
targetScope = 'resourceGroup'

@description('Environment name, used in resource names (lowercase letters and digits).')
@minLength(2)
@maxLength(4)
param environmentName string

@description('Short workload name used in resource names (lowercase letters and digits).')
@minLength(3)
@maxLength(8)
param baseName string = 'autosave'

@description('Azure region (must offer the Flex Consumption plan).')
param location string = resourceGroup().location

@description('Storage redundancy.')
@allowed(['Standard_LRS', 'Standard_ZRS'])
param storageSku string = 'Standard_LRS'

@description('Flex Consumption: most on-demand instances per function scale group (1-1000). 1 keeps each queue function on one instance, so with host.json batchSize 1 the Analyzer judges windows one at a time, in order.')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 1

@description('Flex Consumption instance memory (MB).')
@allowed([512, 2048, 4096])
param instanceMemoryMB int = 2048

@description('NCRONTAB schedule of the Collector timer (UTC on Linux): every 5 minutes; the function collects on the 15-minute boundaries, and on every 5-minute one for 30 minutes after a rollback.')
param collectorSchedule string = '0 */5 * * * *'

@description('NCRONTAB schedule of the Lifecycle timer (UTC on Linux): every 5 minutes it escalates unacknowledged incidents, flags overdue RCAs, applies approved phase moves and posts the phase C daily report.')
param lifecycleSchedule string = '0 */5 * * * *'

@description('Phase assumed before any rollout state exists.')
@allowed(['A', 'B', 'C'])
param initialPhase string = 'A'

@description('Reporter dry-run: render and record everything, send nothing to Slack, PagerDuty or the flag service.')
param reporterDryRun bool = false

@description('Telemetry endpoint (GET ?from=&to=, JSONL). Not a secret.')
param telemetryUrl string

@description('Whether the telemetry endpoint needs a bearer token (Key Vault secret telemetry-token).')
param telemetryTokenRequired bool = true

@description('PagerDuty Events API v2 endpoint.')
param pagerDutyEventsUrl string = 'https://events.pagerduty.com/v2/enqueue'

@description('PagerDuty REST API v2 root (incident acknowledgement checks and escalation; token in Key Vault secret pagerduty-api-token).')
param pagerDutyApiUrl string = 'https://api.pagerduty.com'

@description('Email of a PagerDuty user, sent as the From header that REST API v2 incident updates require. Not a secret.')
param pagerDutyFrom string

@description('PagerDuty priority name an unacknowledged incident is raised to.')
param pagerDutyEscalationPriority string = 'P1'

@description('Rollback flag service base URL. Not a secret.')
param flagServiceBaseUrl string

@description('Log Analytics retention in days.')
@minValue(30)
@maxValue(730)
param logRetentionDays int = 30

@description('Key Vault purge protection (cannot be turned off once on).')
param keyVaultPurgeProtection bool = false

@description('Optional object id of the operator or pipeline principal that sets the Key Vault secrets (gets Key Vault Secrets Officer). Empty: grant it yourself.')
param keyVaultOfficerPrincipalId string = ''

@description('Principal type of keyVaultOfficerPrincipalId.')
@allowed(['User', 'Group', 'ServicePrincipal'])
param keyVaultOfficerPrincipalType string = 'User'

var suffix = take(uniqueString(resourceGroup().id, environmentName), 8)
var storageAccountName = take('st${baseName}${environmentName}${suffix}', 24)
var keyVaultName = take('kv-${baseName}-${environmentName}-${suffix}', 24)
var functionAppName = 'func-${baseName}-${environmentName}-${suffix}'
var planName = 'plan-${baseName}-${environmentName}-${suffix}'
var logAnalyticsName = 'log-${baseName}-${environmentName}-${suffix}'
var appInsightsName = 'appi-${baseName}-${environmentName}-${suffix}'
var deploymentContainerName = 'app-package'

// Pipeline containers and queues (StorePaths, AzureBlobLeaseLock) plus the runtime's poison queues (host.json
// extensions.queues maxDequeueCount). The pipeline would create them on demand; declaring them documents the layout.
var pipelineContainers = ['autosave', 'decisions', 'reports', 'state', 'locks']
var pipelineQueues = ['autosave-analyze', 'autosave-report', 'autosave-analyze-poison', 'autosave-report-poison']

// Key Vault secret names: third-party secrets only, set with `az keyvault secret set` (see infra/README.md). Storage
// needs no secret: the app reaches it with its managed identity.
var secretNames = {
  slackAutosaveRollout: 'slack-webhook-autosave-rollout'
  slackIncidentAutosave: 'slack-webhook-incident-autosave'
  slackIncident: 'slack-webhook-incident'
  pagerDutyRoutingKey: 'pagerduty-routing-key'
  pagerDutyApiToken: 'pagerduty-api-token'
  flagServiceToken: 'flag-service-token'
  telemetryToken: 'telemetry-token'
}

// Built-in role definition ids.
var roles = {
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb'
  keyVaultSecretsUser: '4633458b-17de-408a-b874-0445c86b69e6'
  keyVaultSecretsOfficer: 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7'
}

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: storageAccountName
  location: location
  kind: 'StorageV2'
  sku: { name: storageSku }
  properties: {
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    allowBlobPublicAccess: false
    // Entra ID only: the Functions runtime, the deployment package and the pipeline all use the app's managed identity.
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource containers 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = [for name in concat(pipelineContainers, [deploymentContainerName]): {
  parent: blobService
  name: name
  properties: { publicAccess: 'None' }
}]

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource queues 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = [for name in pipelineQueues: {
  parent: queueService
  name: name
}]

resource logAnalytics 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: logAnalyticsName
  location: location
  properties: {
    sku: { name: 'PerGB2018' }
    retentionInDays: logRetentionDays
  }
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: appInsightsName
  location: location
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: logAnalytics.id
  }
}

resource keyVault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: keyVaultName
  location: location
  properties: {
    tenantId: subscription().tenantId
    sku: { family: 'A', name: 'standard' }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    enablePurgeProtection: keyVaultPurgeProtection ? true : null
  }
}

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  kind: 'functionapp'
  sku: {
    tier: 'FlexConsumption'
    name: 'FC1'
  }
  properties: {
    reserved: true
  }
}

resource functionApp 'Microsoft.Web/sites@2024-04-01' = {
  name: functionAppName
  location: location
  kind: 'functionapp,linux'
  identity: { type: 'SystemAssigned' }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    keyVaultReferenceIdentity: 'SystemAssigned'
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: { type: 'SystemAssignedIdentity' }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'dotnet-isolated'
        version: '10.0'
      }
    }
  }
}

resource blobOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, functionApp.id, roles.storageBlobDataOwner)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataOwner)
    principalId: functionApp.identity.principalId
    principalType: 'ServicePrincipal'
  }
}

resource queueContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, functionApp.id, roles.storageQueueDataContributor)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageQueueDataContributor)
    principalId: functionApp.identity.principalId
    principalType: 'ServicePrincipal'
  }
}

// Runtime diagnostics events go to Table storage (functions-reference: host storage with an identity).
resource tableContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, functionApp.id, roles.storageTableDataContributor)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageTableDataContributor)
    principalId: functionApp.identity.principalId
    principalType: 'ServicePrincipal'
  }
}

// Lets the identity send telemetry to Application Insights with Entra ID authentication.
resource metricsPublisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(appInsights.id, functionApp.id, roles.monitoringMetricsPublisher)
  scope: appInsights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.monitoringMetricsPublisher)
    principalId: functionApp.identity.principalId
    principalType: 'ServicePrincipal'
  }
}

resource secretsUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(keyVault.id, functionApp.id, roles.keyVaultSecretsUser)
  scope: keyVault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsUser)
    principalId: functionApp.identity.principalId
    principalType: 'ServicePrincipal'
  }
}

resource secretsOfficer 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(keyVaultOfficerPrincipalId)) {
  name: guid(keyVault.id, keyVaultOfficerPrincipalId, roles.keyVaultSecretsOfficer)
  scope: keyVault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsOfficer)
    principalId: keyVaultOfficerPrincipalId
    principalType: keyVaultOfficerPrincipalType
  }
}

// Versionless references: the app follows the latest secret version (re-read within 24 h, or at once on any config change).
var kvRefPrefix = '@Microsoft.KeyVault(SecretUri=${keyVault.properties.vaultUri}secrets/'

// App settings as their own resource, after the role assignments, so the Key Vault references resolve with the new
// identity (learn: "Use Key Vault references as app settings", ARM deployment). This replaces all app settings.
resource appSettings 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: functionApp
  name: 'appsettings'
  properties: union({
    // Storage for the Functions runtime (timer leases, queue triggers, keys, diagnostics) and for the pipeline (read by
    // AutoSaveRollout.Azure.AzureStorageRegistration): one identity-based connection, no key.
    AzureWebJobsStorage__blobServiceUri: storage.properties.primaryEndpoints.blob
    AzureWebJobsStorage__queueServiceUri: storage.properties.primaryEndpoints.queue
    AzureWebJobsStorage__tableServiceUri: storage.properties.primaryEndpoints.table
    AzureWebJobsStorage__credential: 'managedidentity'
    APPLICATIONINSIGHTS_CONNECTION_STRING: appInsights.properties.ConnectionString
    // Pipeline (read by AutoSaveRollout.Hosting.FunctionsPipeline / PipelineFactory).
    CollectorSchedule: collectorSchedule
    LifecycleSchedule: lifecycleSchedule
    Policy__Path: 'policy.yaml'
    Analyzer__InitialPhase: initialPhase
    Reporter__DryRun: string(reporterDryRun)
    Telemetry__Url: telemetryUrl
    Slack__Webhooks__autosave_rollout: '${kvRefPrefix}${secretNames.slackAutosaveRollout}/)'
    Slack__Webhooks__incident_autosave: '${kvRefPrefix}${secretNames.slackIncidentAutosave}/)'
    Slack__Webhooks__incident: '${kvRefPrefix}${secretNames.slackIncident}/)'
    PagerDuty__RoutingKey: '${kvRefPrefix}${secretNames.pagerDutyRoutingKey}/)'
    PagerDuty__EventsUrl: pagerDutyEventsUrl
    PagerDuty__ApiToken: '${kvRefPrefix}${secretNames.pagerDutyApiToken}/)'
    PagerDuty__ApiUrl: pagerDutyApiUrl
    PagerDuty__From: pagerDutyFrom
    PagerDuty__EscalationPriority: pagerDutyEscalationPriority
    FlagService__BaseUrl: flagServiceBaseUrl
    FlagService__Token: '${kvRefPrefix}${secretNames.flagServiceToken}/)'
  }, telemetryTokenRequired ? { Telemetry__Token: '${kvRefPrefix}${secretNames.telemetryToken}/)' } : {})
  dependsOn: [
    blobOwner
    queueContributor
    tableContributor
    metricsPublisher
    secretsUser
    containers
    queues
  ]
}

output functionAppName string = functionApp.name
output storageAccountName string = storage.name
output keyVaultName string = keyVault.name
output keyVaultUri string = keyVault.properties.vaultUri
output appInsightsName string = appInsights.name
output principalId string = functionApp.identity.principalId
output secretNames object = secretNames
