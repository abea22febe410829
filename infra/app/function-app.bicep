// The Flex Consumption plan and the function app: Linux, Python 3.11, one user-assigned
// identity for everything, no keys to storage or Application Insights, no FTP, no basic auth.

param name string
param planName string
param location string
param tags object = {}

@description('Resource id of the user-assigned managed identity.')
param identityId string

@description('Client id of that identity: used by the host (storage, telemetry) and by the proxy (AZURE_CLIENT_ID).')
param identityClientId string

param storageAccountName string
param deploymentContainerName string
param applicationInsightsName string

@description('Settings read by the proxy itself (BC_*, CALLER_AUTH, allow-lists, ...).')
param proxySettings object

// Not the secret itself: the URI of its version in Key Vault. The app setting is a Key
// Vault reference that the platform resolves with the user-assigned identity.
@description('Versioned URI of the BULK_JOB_SECRET secret in Key Vault.')
param bulkJobSecretUri string

@description('Origins allowed to call the API from a browser. Never "*".')
param allowedOrigins array = []

@minValue(1)
@maxValue(1000)
@description('Most on-demand instances of the HTTP group. 40 is the lowest maximum every Flex Consumption region accepts; see docs/deploy.md.')
param maximumInstanceCount int = 40

@minValue(1)
@maxValue(1000)
@description('Concurrent HTTP invocations per instance. Python apps default to 1, which spreads every burst over cold instances.')
param httpPerInstanceConcurrency int = 16

@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

// Identity-based AzureWebJobsStorage: service URIs plus the identity, never a connection
// string. Durable Functions uses all three services.
var hostSettings = [
  {
    name: 'AzureWebJobsStorage__blobServiceUri'
    value: storage.properties.primaryEndpoints.blob
  }
  {
    name: 'AzureWebJobsStorage__queueServiceUri'
    value: storage.properties.primaryEndpoints.queue
  }
  {
    name: 'AzureWebJobsStorage__tableServiceUri'
    value: storage.properties.primaryEndpoints.table
  }
  {
    name: 'AzureWebJobsStorage__credential'
    value: 'managedidentity'
  }
  {
    name: 'AzureWebJobsStorage__clientId'
    value: identityClientId
  }
  {
    name: 'APPLICATIONINSIGHTS_CONNECTION_STRING'
    value: applicationInsights.properties.ConnectionString
  }
  {
    // Entra auth for telemetry: the component accepts no instrumentation-key-only ingestion.
    name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING'
    value: 'ClientId=${identityClientId};Authorization=AAD'
  }
  {
    // azure-identity's ManagedIdentityCredential picks the user-assigned identity from this.
    name: 'AZURE_CLIENT_ID'
    value: identityClientId
  }
]

// main.bicep never puts a host setting name in proxySettings, so the two lists do not overlap.
var proxySettingList = [for setting in items(proxySettings): {
  name: setting.key
  value: setting.value
}]

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  // checkov:skip=CKV_AZURE_225:Flex zone redundancy is not offered in every region; enable zoneRedundant where the region supports it.
  name: planName
  location: location
  tags: tags
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
  // checkov:skip=CKV_AZURE_222:A public API by design (Power Automate, Logic Apps, scripts); callers are authenticated by function key or Entra ID.
  // checkov:skip=CKV_AZURE_17:Low-code callers cannot present client certificates; they authenticate by function key or Entra token.
  // checkov:skip=CKV_AZURE_212:Flex Consumption sets instance counts itself (numberOfWorkers does not apply); the scale limit is maximumInstanceCount.
  // checkov:skip=CKV_AZURE_213:The platform health check is not supported on Flex Consumption; /api/health serves external probes.
  name: name
  location: location
  tags: union(tags, {
    'azd-service-name': 'api'
  })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    clientCertEnabled: false
    publicNetworkAccess: 'Enabled'
    // Key Vault references resolve with this identity, not a system-assigned one (there is none).
    keyVaultReferenceIdentity: identityId
    siteConfig: {
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
      appSettings: concat(hostSettings, proxySettingList, [
        {
          name: 'BULK_JOB_SECRET'
          value: '@Microsoft.KeyVault(SecretUri=${bulkJobSecretUri})'
        }
      ])
      cors: {
        allowedOrigins: allowedOrigins
        supportCredentials: false
      }
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
        triggers: {
          http: {
            perInstanceConcurrency: httpPerInstanceConcurrency
          }
        }
      }
      runtime: {
        name: 'python'
        version: '3.11'
      }
    }
  }
}

// Basic (user name/password) publishing is off for both endpoints; deployments use Entra ID.
resource ftpBasicAuth 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: functionApp
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource scmBasicAuth 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: functionApp
  name: 'scm'
  properties: {
    allow: false
  }
}

output name string = functionApp.name
output id string = functionApp.id
output uri string = 'https://${functionApp.properties.defaultHostName}'
