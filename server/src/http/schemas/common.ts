import { Type as T, type TObject, type TProperties, type TSchema, type ObjectOptions, type SchemaOptions } from '@sinclair/typebox';
import type { PresentedAddress } from '../../residents/protection.js';

/**
 * Schema helpers shared by the route declarations. Responses are closed objects
 * (`additionalProperties: false`) so a field added to a response without its schema fails the
 * response check in the tests; inputs stay open (forms post buttons and the CSRF field).
 */

/** A response object: every property declared, nothing else allowed. */
export function Obj<P extends TProperties>(properties: P, options: ObjectOptions = {}): TObject<P> {
  return T.Object(properties, { additionalProperties: false, ...options });
}

/**
 * A named response object: the OpenAPI document lists it once under components.schemas and refers
 * to it (the name goes in `x-component`, not `$id`, so the same schema can sit in many routes'
 * validators without an id clash).
 */
export function Component<P extends TProperties>(name: string, properties: P, options: ObjectOptions = {}): TObject<P> {
  return Obj(properties, { ...options, 'x-component': name });
}

export const Nullable = <S extends TSchema>(s: S, options: SchemaOptions = {}) => T.Union([s, T.Null()], options);

/** `YYYY-MM-DD` (西暦). */
export const IsoDate = (options: SchemaOptions = {}) => T.String({ format: 'date', ...options });
/** An instant as JSON carries it (ISO 8601 with zone). */
export const IsoDateTime = (options: SchemaOptions = {}) => T.String({ format: 'date-time', ...options });

/** A positive integer id in the path (`/visits/:id`): coerced from the path string. */
export const IdParam = (title = '番号') => T.Integer({ minimum: 1, maximum: 2_147_483_647, title });

export const AddresseeNo = (options: SchemaOptions = {}) => T.String({ pattern: '^[0-9]{1,15}$', title: '宛名番号', ...options });

/** The CSRF field a browser form sends beside its data. */
export const CsrfField = T.Optional(T.String({ title: 'CSRF トークン' }));

/**
 * A urlencoded form as koa's body parser gives it: each field a string, or a list when repeated.
 * HTML form routes that do not declare their fields one by one take this.
 */
export const AnyForm = T.Record(T.String(), T.Union([T.String(), T.Array(T.String())]));

/** An empty query or body (nothing expected; extra keys are ignored, as browsers may add them). */
export const Nothing = T.Object({});

/**
 * An address-bearing response field. Its static type is `PresentedAddress`, which only the one
 * presenter (`residents/protection.ts` `presentAddress`) makes: a handler that tries to return a
 * raw address string in such a field does not compile. `x-personal: address` marks it for the
 * OpenAPI document and the leak checks.
 */
export const PresentedAddressField = (options: SchemaOptions = {}) =>
  T.Unsafe<PresentedAddress>(T.String({ 'x-personal': 'address', ...options }));
