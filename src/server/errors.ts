// Errors the API answers with, in OpenAI's shape: {error: {message, type, param, code}}. The
// official clients turn the status into their own error classes (400 BadRequestError, 401
// AuthenticationError, 404 NotFoundError, 429 RateLimitError), so the status is the contract.

export type ErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'not_found_error'
  | 'rate_limit_error'
  | 'server_error'

export class ApiError extends Error {
  override name = 'ApiError'
  constructor(
    readonly status: 400 | 401 | 404 | 413 | 429 | 500 | 503,
    message: string,
    readonly type: ErrorType = 'invalid_request_error',
    readonly param: string | null = null,
    readonly code: string | null = null,
    /** Extra response headers (Retry-After on a 429). */
    readonly headers: Record<string, string> = {},
  ) {
    super(message)
  }

  get body(): {
    error: { message: string; type: string; param: string | null; code: string | null }
  } {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } }
  }
}

/** 400 for a field we do not honour whose value would change what the client gets back. */
export const unsupported = (param: string, why: string): ApiError =>
  new ApiError(400, `'${param}' ${why}`, 'invalid_request_error', param, 'unsupported_parameter')

export const badRequest = (message: string, param: string | null = null): ApiError =>
  new ApiError(400, message, 'invalid_request_error', param, 'invalid_value')

export const modelNotFound = (id: string): ApiError =>
  new ApiError(
    404,
    `The model '${id}' does not exist; GET /v1/models lists the served ones`,
    'not_found_error',
    'model',
    'model_not_found',
  )

/** The model's queue is full: the client may retry after `seconds`. */
export const queueFull = (id: string, waiting: number, seconds: number): ApiError =>
  new ApiError(
    429,
    `model '${id}' has ${waiting} requests waiting already (the --queue limit); retry later`,
    'rate_limit_error',
    null,
    'queue_full',
    { 'Retry-After': String(seconds) },
  )
