/**
 * The one error type for HTTP answers. Thrown anywhere below a route, rendered once by the app's
 * onError in Mastodon's `{ "error": … }` shape. `reason` names the failure internally (logs, tests);
 * the message is what the client sees.
 */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly reason: string = "error",
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export const badRequest = (message: string, reason = "bad_request") => new HttpError(400, message, reason);
export const unauthorized = (message: string, reason = "unauthorized") => new HttpError(401, message, reason);
export const forbidden = (message: string, reason = "forbidden") => new HttpError(403, message, reason);
export const notFound = (message = "Record not found", reason = "not_found") =>
  new HttpError(404, message, reason);
export const gone = (message = "Gone", reason = "gone") => new HttpError(410, message, reason);
export const payloadTooLarge = (message = "Payload too large") =>
  new HttpError(413, message, "payload_too_large");
export const unprocessable = (message: string, reason = "unprocessable") =>
  new HttpError(422, message, reason);
export const unavailable = (message: string, reason = "unavailable") => new HttpError(503, message, reason);
