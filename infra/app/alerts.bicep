// The alerts of docs/operations.md, deployed: one log search alert per query in
// monitoring/queries/alerts/ and a metric alert on the instance count, all sent to one
// action group. Thresholds, windows and severities live in monitoring/alerts.json, which
// also writes the alerts table of docs/operations.md (python -m scripts.monitoring).

param location string
param tags object = {}

@description('Suffix that makes the names unique (the deployment\'s resource token).')
param nameSuffix string

param applicationInsightsName string
param functionAppName string

@description('Most on-demand instances of the HTTP functions: the instance alert fires when the app reaches it.')
param maximumInstanceCount int

@description('Comma-separated e-mail addresses that receive the alerts; empty sends none (the alerts still show in the portal).')
param alertEmails string = ''

// Bicep loads files by literal paths only, so each query is named here once; a test checks
// that this map and monitoring/alerts.json name the same alerts. Every entry of alerts.json
// has the same properties (empty where unused), so each one can be read from any entry.
var queries = {
  'unknown-outcome': loadTextContent('../monitoring/queries/alerts/unknown-outcome.kql')
  'bulk-items-unknown': loadTextContent('../monitoring/queries/alerts/bulk-items-unknown.kql')
  'proxy-misconfigured': loadTextContent('../monitoring/queries/alerts/proxy-misconfigured.kql')
  'identity-refused': loadTextContent('../monitoring/queries/alerts/identity-refused.kql')
  throttling: loadTextContent('../monitoring/queries/alerts/throttling.kql')
  'slow-upstream': loadTextContent('../monitoring/queries/alerts/slow-upstream.kql')
  'error-rate': loadTextContent('../monitoring/queries/alerts/error-rate.kql')
}

var definitions = loadJsonContent('../monitoring/alerts.json').alerts
var logAlerts = filter(definitions, alert => alert.kind == 'log')
var instanceAlert = filter(definitions, alert => alert.kind == 'metric')[0]
var emails = filter(split(replace(alertEmails, ' ', ''), ','), address => length(address) > 0)

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource functionApp 'Microsoft.Web/sites@2024-04-01' existing = {
  name: functionAppName
}

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = {
  name: 'ag-bc-proxy-${nameSuffix}'
  location: 'global'
  tags: tags
  properties: {
    groupShortName: 'bc-proxy'
    enabled: true
    emailReceivers: [for (address, index) in emails: {
      name: 'email-${index}'
      emailAddress: address
      useCommonAlertSchema: true
    }]
  }
}

resource logSearchAlerts 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = [for alert in logAlerts: {
  name: 'alert-${alert.name}-${nameSuffix}'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: 'BC payments proxy: ${alert.title}'
    description: 'Fires when ${alert.condition}: ${alert.why}. Runbook: docs/operations.md#${alert.name} in the proxy\'s repository.'
    severity: alert.severity
    enabled: true
    // The queries read traces and customDimensions: the Application Insights schema.
    scopes: [
      applicationInsights.id
    ]
    evaluationFrequency: alert.evaluationFrequency
    windowSize: alert.windowSize
    // A component created in the same deployment can fail validation before its tables
    // answer; the tests check each query's dimensions against what the proxy writes.
    skipQueryValidation: true
    autoMitigate: true
    criteria: {
      allOf: [
        union({
          query: queries[alert.name]
          timeAggregation: alert.timeAggregation
          operator: alert.operator
          threshold: alert.threshold
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }, empty(alert.measure) ? {} : {
          metricMeasureColumn: alert.measure
        })
      ]
    }
    actions: {
      actionGroups: [
        actionGroup.id
      ]
    }
  }
}]

// Flex Consumption may not report this metric until the app has run; skipMetricValidation
// lets the rule be created on a first deployment all the same.
resource instancesAtMaximum 'Microsoft.Insights/metricAlerts@2018-03-01' = {
  name: 'alert-${instanceAlert.name}-${nameSuffix}'
  location: 'global'
  tags: tags
  properties: {
    description: 'Fires when ${instanceAlert.condition}: ${instanceAlert.why}. Runbook: docs/operations.md#${instanceAlert.name} in the proxy\'s repository.'
    severity: instanceAlert.severity
    enabled: true
    scopes: [
      functionApp.id
    ]
    evaluationFrequency: instanceAlert.evaluationFrequency
    windowSize: instanceAlert.windowSize
    autoMitigate: true
    criteria: {
      'odata.type': 'Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria'
      allOf: [
        {
          criterionType: 'StaticThresholdCriterion'
          name: instanceAlert.name
          metricNamespace: instanceAlert.metricNamespace
          metricName: instanceAlert.metric
          timeAggregation: instanceAlert.timeAggregation
          operator: instanceAlert.operator
          threshold: maximumInstanceCount
          skipMetricValidation: true
        }
      ]
    }
    actions: [
      {
        actionGroupId: actionGroup.id
      }
    ]
  }
}

output actionGroupId string = actionGroup.id
