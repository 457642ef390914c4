/** The text module: encodings, the CP932 mapping, CSV reading and writing (see each file). */
export * from './encoding.js';
export * from './csv.js';
export * from './csvStream.js';
export * from './files.js';
