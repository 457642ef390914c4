import { Type as T } from '@sinclair/typebox';
import { Obj } from './common.js';

/** The generated OpenAPI document, as far as its own response schema goes (the body is the spec itself). */
export const OpenApiDocumentSchema = Obj({
  openapi: T.Literal('3.1.0'),
  info: Obj({ title: T.String(), version: T.String(), summary: T.String(), description: T.String() }),
  tags: T.Array(Obj({ name: T.String(), description: T.String() })),
  paths: T.Record(T.String({ pattern: '^/' }), T.Record(T.String(), T.Unknown())),
  components: Obj({
    schemas: T.Record(T.String(), T.Unknown()),
    securitySchemes: T.Record(T.String(), T.Unknown()),
  }),
});
