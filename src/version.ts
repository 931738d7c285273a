/** The Modelgraph release, shown by `about` and `modelgraph --version`. */
export const MODELGRAPH_VERSION = '0.1.0';
