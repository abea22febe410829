// App Service Authentication (Entra ID) in front of the proxy, for CALLER_AUTH=entra.
// Bearer tokens only: no client secret, so no browser login redirect; callers (front ends
// with MSAL, Entra-authenticated connectors) bring their own access token.

param functionAppName string

@description('Application (client) id of the Entra app registration that represents this API.')
param clientId string

@description('Tenant that issues the tokens callers present.')
param tenantId string = tenant().tenantId

@description('Accepted token audiences; by default the app id URI and the client id (v1 and v2 tokens).')
param allowedAudiences array = [
  'api://${clientId}'
  clientId
]

@description('Client ids of the only applications whose tokens App Service accepts (the caller list); empty accepts any application of the tenant, and the proxy then relies on REQUIRED_CALLER_ROLE.')
param allowedApplications array = []

// Without a caller list no policy is written: App Service keeps its default (any application of
// the tenant) and the proxy's REQUIRED_CALLER_ROLE decides, which the proxy then insists on.
var authorizationPolicy = empty(allowedApplications) ? {} : {
  defaultAuthorizationPolicy: {
    allowedApplications: allowedApplications
  }
}

resource functionApp 'Microsoft.Web/sites@2024-04-01' existing = {
  name: functionAppName
}

resource authSettings 'Microsoft.Web/sites/config@2024-04-01' = {
  // These checks read site settings (config/web) and misfire on the authsettingsV2 child:
  // checkov:skip=CKV_AZURE_13:This resource is the App Service Authentication itself; the check looks for settings of config/web.
  // checkov:skip=CKV_AZURE_63:Reads httpLoggingEnabled of config/web; not a property of authsettingsV2. Logs go to Application Insights.
  // checkov:skip=CKV_AZURE_65:Reads detailedErrorLoggingEnabled of config/web; not a property of authsettingsV2.
  // checkov:skip=CKV_AZURE_66:Reads requestTracingEnabled of config/web; not a property of authsettingsV2.
  // checkov:skip=CKV_AZURE_80:Reads netFrameworkVersion of config/web; the app runs Python, not .NET.
  // checkov:skip=CKV_AZURE_88:Reads azureStorageAccounts of config/web; the app mounts no file share.
  // checkov:skip=CKV_AZURE_222:Reads publicNetworkAccess, a site property; the site is public by design (see function-app.bicep).
  parent: functionApp
  name: 'authsettingsV2'
  properties: {
    platform: {
      enabled: true
    }
    globalValidation: {
      requireAuthentication: true
      unauthenticatedClientAction: 'Return401'
      // Anonymous by contract in both caller-auth modes (problem type URIs link to /api/problems).
      // A bulk job's status is polled without credentials; its own token guards it. A
      // trailing /* matches everything below a path (Microsoft's answer in
      // MicrosoftDocs/azure-docs#86514 on excludedPaths wildcards).
      excludedPaths: [
        '/api/health'
        '/api/openapi.json'
        '/api/problems'
        '/api/bulkPaymentUpdates/*'
      ]
    }
    httpSettings: {
      requireHttps: true
    }
    login: {
      tokenStore: {
        enabled: false
      }
    }
    identityProviders: {
      azureActiveDirectory: {
        enabled: true
        registration: {
          clientId: clientId
          openIdIssuer: '${environment().authentication.loginEndpoint}${tenantId}/v2.0'
        }
        validation: union({
          allowedAudiences: allowedAudiences
        }, authorizationPolicy)
      }
    }
  }
}
