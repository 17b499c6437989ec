/**
 * The parts of jsonld 9 and rdf-canonize 5 that ld-signatures.ts uses; neither package ships types.
 * https://github.com/digitalbazaar/jsonld.js https://github.com/digitalbazaar/rdf-canonize
 */

declare module "jsonld/dist/jsonld.esm.js" {
  export interface RemoteDocument {
    contextUrl: string | null;
    documentUrl: string;
    document: unknown;
  }
  export interface Term {
    termType: "NamedNode" | "BlankNode" | "Literal" | "DefaultGraph";
    value: string;
    datatype?: { termType: "NamedNode"; value: string };
    language?: string;
  }
  export interface Quad {
    subject: Term;
    predicate: Term;
    object: Term;
    graph: Term;
  }
  export interface ToRdfOptions {
    documentLoader: (url: string) => Promise<RemoteDocument>;
    /** Throw instead of silently dropping anything that does not map to RDF. */
    safe?: boolean;
  }
  const jsonld: {
    toRDF(input: object, options: ToRdfOptions): Promise<Quad[]>;
  };
  export default jsonld;
}

declare module "rdf-canonize" {
  import type { Quad } from "jsonld/dist/jsonld.esm.js";
  export function canonize(
    dataset: Quad[],
    options: { algorithm: "RDFC-1.0"; maxWorkFactor?: number },
  ): Promise<string>;
}
