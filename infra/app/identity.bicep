// The app's one identity: storage, Application Insights and the Business Central token.
// User-assigned so its client id is known before the app exists and survives app re-creation
// (the Business Central registration is keyed on that client id).

@description('Name of the user-assigned managed identity.')
param name string

param location string
param tags object = {}

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: name
  location: location
  tags: tags
}

output id string = identity.id
output name string = identity.name
output clientId string = identity.properties.clientId
output principalId string = identity.properties.principalId
