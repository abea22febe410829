// The operations workbook: a shared Azure Monitor workbook on the Application Insights
// component. Its content, monitoring/workbook.json, is generated from the queries in
// monitoring/queries/ by python -m scripts.monitoring (a test fails when it is stale).

param location string
param tags object = {}
param applicationInsightsName string

@description('Name shown in the portal (Monitor > Workbooks, or the component\'s Workbooks blade).')
param displayName string = 'BC payments proxy operations'

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource workbook 'Microsoft.Insights/workbooks@2023-06-01' = {
  // A workbook's name must be a GUID; a fixed one per component makes a redeploy update it.
  name: guid(applicationInsights.id, 'operations-workbook')
  location: location
  tags: tags
  kind: 'shared'
  properties: {
    displayName: displayName
    category: 'workbook'
    sourceId: applicationInsights.id
    version: 'Notebook/1.0'
    serializedData: loadTextContent('../monitoring/workbook.json')
  }
}

output id string = workbook.id
