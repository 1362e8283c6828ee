/**
 * The SPF evaluator's public surface (DESIGN §4), one import for callers:
 * check_host() per RFC 7208, the DESIGN policy verdict, and the merged suggestion.
 */
export { checkHost, type SpfOptions, type SpfOutcome, type SpfRequest, type SpfResult } from './spf-eval';
export { evaluateSpfPolicy, spfIncludesDomain, type SpfPolicyRequest, type SpfPolicyResult } from './spf-policy';
export { isSpfRecord, parseSpfRecord, selectSpfRecords } from './spf-record';
export {
  countSpfLookups, countTopLevelLookups, suggestSpfRecord, suggestSpfRecordChecked,
  type SpfLookupCount, type SpfSuggestion,
} from './spf-suggest';
