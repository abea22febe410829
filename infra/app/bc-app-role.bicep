// Grants the managed identity Business Central's application permission API.ReadWrite.All
// (an app role assignment on BC's service principal). Uses the Microsoft Graph Bicep
// extension, so the deploying user needs AppRoleAssignment.ReadWrite.All and
// Application.Read.All in Entra ID (for example Privileged Role Administrator).
// Kept in its own file: checkov's Bicep parser cannot read the `extension` keyword.

extension microsoftGraphV1

@description('Object (principal) id of the managed identity that receives the app role.')
param principalId string

@description('Application id of Dynamics 365 Business Central (first-party, the same in every tenant).')
param businessCentralAppId string = '996def3d-b36c-4153-8607-a6fd3c01b89f'

@description('Value of the app role to grant.')
param appRoleValue string = 'API.ReadWrite.All'

resource businessCentral 'Microsoft.Graph/servicePrincipals@v1.0' existing = {
  appId: businessCentralAppId
}

// The role id is looked up by its value at deploy time instead of being hard-coded.
resource apiReadWriteAll 'Microsoft.Graph/appRoleAssignedTo@v1.0' = {
  principalId: principalId
  resourceId: businessCentral.id
  appRoleId: filter(businessCentral.appRoles, role => appRoleValue == role.value)[0].id
}

output appRoleId string = apiReadWriteAll.appRoleId
