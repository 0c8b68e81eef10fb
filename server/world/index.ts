/** The synthetic world: public entry points. */
export { buildCorpus, corpusText } from './corpus';
export type { Corpus, CorpusStats } from './corpus';
export { buildDatasets, toCounterFact, toCounterFactFlat, toKnowEdit, toZsre } from './datasets';
export { selectEditRequests } from './edits';
export type { EditRequest, PortabilityFact } from './edits';
export { DEFAULT_RATES, DEFAULT_SIZES, generateWorld } from './graph';
export { knownFactProbes, neighborhoodProbes, twoHopProbes } from './probes';
export { sampleAttributePrompts, sampleNeighborhoodPrompts } from './prompts';
export * from './schema';
export { COMPOSITION_PHRASINGS, RELATION_PHRASINGS, fill, sentence } from './templates';
export { World, groundTruth } from './world';
export type { Entity, Predicate, WorldData, WorldRates, WorldSizes } from './world';
