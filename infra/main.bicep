// Entry point for `azd up`: a resource group holding the Business Central payments proxy on
// Azure Functions Flex Consumption. One module per concern under app/.

targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('azd environment name; part of the resource group name and of every resource name hash.')
param environmentName string

@minLength(1)
@description('Azure region for all resources; it must offer Flex Consumption.')
@metadata({
  azd: {
    type: 'location'
  }
})
param location string

@description('Resource group name; empty means rg-<environmentName>.')
param resourceGroupName string = ''

// ---- Business Central ----

@description('Entra tenant (id or domain) in the Business Central URL. Empty means the tenant of this deployment, which is the tenant the managed identity gets its tokens from.')
param bcTenantId string = ''

@description('Business Central environment name.')
param bcEnvironment string = 'production'

@description('Comma-separated company ids the proxy may touch; empty means all.')
param allowedCompanyIds string = ''

@description('Comma-separated journal ids the proxy may touch; empty means all.')
param allowedJournalIds string = ''

@description('Fraction digits allowed in amount; empty leaves the proxy default (2).')
param amountDecimals string = ''

@description('Request body limit in bytes; empty leaves the proxy default (65536).')
param maxBodyBytes string = ''

@description('"*" makes a missing If-Match mean "*" (risks lost updates); empty keeps If-Match required.')
@allowed([
  ''
  '*'
])
param ifMatchDefault string = ''

@description('Grant the identity Business Central API.ReadWrite.All through the Microsoft Graph Bicep extension. Needs Graph permissions the deployer may lack; see docs/deploy.md for the manual way.')
param grantBusinessCentralAppRole bool = false

// ---- Callers ----

@description('Client id of an Entra app registration for the API. Set: App Service Authentication is enabled and CALLER_AUTH=entra. Empty: function keys (CALLER_AUTH=key).')
param authClientId string = ''

@description('With Entra callers (authClientId set): comma-separated application/object ids allowed to call. Ignored without authClientId: the caller principal is only trustworthy behind App Service Authentication.')
param allowedCallers string = ''

@description('With Entra callers (authClientId set): app role every caller must hold. Ignored without authClientId.')
param requiredCallerRole string = ''

@description('Comma-separated browser origins allowed by CORS; empty allows none. "*" is dropped, never applied.')
param allowedOrigins string = ''

// ---- Bulk jobs ----

// Keys the bulk job ids and status tokens. It must stay the same from one provision to
// the next: a new value gives every Idempotency-Key a new job id and voids the status
// URLs of running jobs. azd keeps it in the environment (azd env set BULK_JOB_SECRET);
// each provision writes it to Key Vault, where the app reads it.
@secure()
@minLength(32)
@maxLength(1024)
@description('Secret that keys bulk job ids and status tokens (HMAC-SHA256). Generate it once, for example with openssl rand -base64 48, and keep it: see docs/deploy.md.')
param bulkJobSecret string

// ---- Scale ----

// 40 is the lowest maximum Flex Consumption accepts outside a few preview regions. It is
// no hard cap for HTTP bursts either: Business Central's limits are kept by Business
// Central itself (429 beyond its queue) and the proxy's Retry-After handling, see
// docs/deploy.md (Scale and concurrency).
@minValue(1)
@maxValue(1000)
@description('Most on-demand Flex instances for the HTTP functions. 40 is accepted in every Flex Consumption region; lower values only in some (preview).')
param maximumInstanceCount int = 40

@minValue(1)
@maxValue(1000)
@description('Concurrent HTTP requests per instance. The Python default is 1 (one instance per request); 16 lets an instance queue a burst on its own upstream slots.')
param httpPerInstanceConcurrency int = 16

@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

// ---- Operations ----

@description('Comma-separated e-mail addresses that receive the alerts (docs/operations.md); empty sends none.')
param alertEmails string = ''

var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = {
  'azd-env-name': environmentName
}
var functionAppName = 'func-api-${resourceToken}'
var deploymentContainerName = 'app-package-${resourceToken}'
var callerAuth = empty(authClientId) ? 'key' : 'entra'
// Caller checks trust a header that only App Service Authentication vouches
// for, so without it (no authClientId) they are not configured at all.
var entraAllowedCallers = empty(authClientId) ? '' : allowedCallers
var entraRequiredRole = empty(authClientId) ? '' : requiredCallerRole
// The same caller list, enforced once more by App Service Authentication before the app runs.
var entraAllowedCallerList = filter(split(replace(entraAllowedCallers, ' ', ''), ','), id => length(id) > 0)
// Origins never contain spaces, so removing them all is a safe trim.
var corsOrigins = filter(split(replace(allowedOrigins, ' ', ''), ','), origin => length(origin) > 0 && origin != '*')

// Settings that are unset unless given, so the proxy's own defaults apply.
var optionalProxySettings = union(
  empty(entraAllowedCallers) ? {} : {
    ALLOWED_CALLERS: entraAllowedCallers
  },
  empty(entraRequiredRole) ? {} : {
    REQUIRED_CALLER_ROLE: entraRequiredRole
  },
  empty(allowedCompanyIds) ? {} : {
    ALLOWED_COMPANY_IDS: allowedCompanyIds
  },
  empty(allowedJournalIds) ? {} : {
    ALLOWED_JOURNAL_IDS: allowedJournalIds
  },
  empty(amountDecimals) ? {} : {
    AMOUNT_DECIMALS: amountDecimals
  },
  empty(maxBodyBytes) ? {} : {
    MAX_BODY_BYTES: maxBodyBytes
  },
  empty(ifMatchDefault) ? {} : {
    IF_MATCH_DEFAULT: ifMatchDefault
  }
)

var proxySettings = union({
  BC_TENANT_ID: empty(bcTenantId) ? tenant().tenantId : bcTenantId
  BC_ENVIRONMENT: bcEnvironment
  CALLER_AUTH: callerAuth
}, optionalProxySettings)

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: empty(resourceGroupName) ? 'rg-${environmentName}' : resourceGroupName
  location: location
  tags: tags
}

module identity 'app/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: 'id-api-${resourceToken}'
    location: location
    tags: tags
  }
}

module monitoring 'app/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    logAnalyticsName: 'log-${resourceToken}'
    applicationInsightsName: 'appi-${resourceToken}'
    location: location
    tags: tags
  }
}

module storage 'app/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: 'st${resourceToken}'
    deploymentContainerName: deploymentContainerName
    location: location
    tags: tags
  }
}

module rbac 'app/rbac.bicep' = {
  name: 'rbac'
  scope: rg
  params: {
    storageAccountName: storage.outputs.name
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    principalId: identity.outputs.principalId
  }
}

module keyVault 'app/keyvault.bicep' = {
  name: 'key-vault'
  scope: rg
  params: {
    name: 'kv-${resourceToken}'
    location: location
    tags: tags
    principalId: identity.outputs.principalId
    bulkJobSecret: bulkJobSecret
  }
}

module functionApp 'app/function-app.bicep' = {
  name: 'function-app'
  scope: rg
  params: {
    name: functionAppName
    planName: 'plan-${resourceToken}'
    location: location
    tags: tags
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageAccountName: storage.outputs.name
    deploymentContainerName: deploymentContainerName
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    proxySettings: proxySettings
    // From the vault's module, so the app starts after its identity may read the secret.
    bulkJobSecretUri: keyVault.outputs.jobSecretUri
    allowedOrigins: corsOrigins
    maximumInstanceCount: maximumInstanceCount
    httpPerInstanceConcurrency: httpPerInstanceConcurrency
    instanceMemoryMB: instanceMemoryMB
  }
  // The host reaches storage with the identity as soon as it starts: grant first.
  dependsOn: [
    rbac
  ]
}

module auth 'app/auth.bicep' = if (!empty(authClientId)) {
  name: 'auth'
  scope: rg
  params: {
    functionAppName: functionApp.outputs.name
    clientId: authClientId
    allowedApplications: entraAllowedCallerList
  }
}

module alerts 'app/alerts.bicep' = {
  name: 'alerts'
  scope: rg
  params: {
    location: location
    tags: tags
    nameSuffix: resourceToken
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    functionAppName: functionApp.outputs.name
    maximumInstanceCount: maximumInstanceCount
    alertEmails: alertEmails
  }
}

module workbook 'app/workbook.bicep' = {
  name: 'workbook'
  scope: rg
  params: {
    location: location
    tags: tags
    applicationInsightsName: monitoring.outputs.applicationInsightsName
  }
}

module businessCentralAppRole 'app/bc-app-role.bicep' = if (grantBusinessCentralAppRole) {
  name: 'bc-app-role'
  scope: rg
  params: {
    principalId: identity.outputs.principalId
  }
  // Microsoft Graph may not see an identity created moments before (a first provision:
  // "Not a valid reference update", microsoftgraph/msgraph-bicep-types#193). Waiting for
  // the function app gives it minutes; if it still fails, azd provision again succeeds.
  dependsOn: [
    functionApp
  ]
}

output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_NAME string = functionApp.outputs.name
output SERVICE_API_NAME string = functionApp.outputs.name
output SERVICE_API_URI string = functionApp.outputs.uri
output FUNCTION_APP_URL string = functionApp.outputs.uri
output CALLER_AUTH string = callerAuth
output MANAGED_IDENTITY_CLIENT_ID string = identity.outputs.clientId
output MANAGED_IDENTITY_PRINCIPAL_ID string = identity.outputs.principalId
output KEY_VAULT_NAME string = keyVault.outputs.name
