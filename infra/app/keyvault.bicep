// The bulk job secret in Key Vault: written from the azd environment value on every
// provision, read by the app through a Key Vault reference resolved with its
// user-assigned identity, which may read secrets of this vault and nothing else.

@description('Vault name: 3-24 letters, digits and hyphens, starting with a letter.')
@minLength(3)
@maxLength(24)
param name string

param location string
param tags object = {}

@description('Object (principal) id of the identity that resolves the reference.')
param principalId string

// Same value on every provision, so Key Vault keeps the same secret version and the app
// setting (which names that version) does not change: no restart, no new version.
@secure()
@description('BULK_JOB_SECRET: keys bulk job ids and status tokens.')
param bulkJobSecret string

@description('Days a deleted vault stays recoverable (7 to 90). Purge protection forbids purging it earlier, so the same azd environment can be provisioned again only after this many days (or with a new environment name).')
@minValue(7)
@maxValue(90)
param softDeleteRetentionInDays int = 7

var keyVaultSecretsUser = '4633458b-17de-408a-b874-0445c86b69e6'

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  // checkov:skip=CKV_AZURE_109:No virtual network, as for storage: the Flex app resolves the reference over the public endpoint; access needs an Entra token with a data role (RBAC only).
  // checkov:skip=CKV_AZURE_189:Same reason as CKV_AZURE_109: public network access stays enabled like the rest of the deployment.
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: tenant().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    // Azure RBAC, no access policies: the only reader is the role assignment below.
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: softDeleteRetentionInDays
    enablePurgeProtection: true
    enabledForDeployment: false
    enabledForDiskEncryption: false
    enabledForTemplateDeployment: false
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
  }
}

resource jobSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  // checkov:skip=CKV_AZURE_41:No expiry on purpose: an expired secret stops resolving and every bulk route answers proxy-misconfigured; it is rotated from the azd environment instead (docs/deploy.md).
  parent: vault
  name: 'bulk-job-secret'
  properties: {
    value: bulkJobSecret
    contentType: 'text/plain'
    attributes: {
      enabled: true
    }
  }
}

resource secretsUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, principalId, keyVaultSecretsUser)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', keyVaultSecretsUser)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

output name string = vault.name
// The version's URI, not the versionless one: a new secret value is a new version, which
// changes the app setting, which restarts every instance onto the same secret at once.
output jobSecretUri string = jobSecret.properties.secretUriWithVersion
