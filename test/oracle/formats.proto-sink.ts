// A CoreML Model (proto3 JSON) that sets every field of our schema at least once, to compare our
// encoding with coremltools' field by field. Not a meaningful model. Rules of proto3 JSON that
// matter for the comparison: default values are omitted, 64-bit integers are strings, enums are
// names, bytes are base64, and map keys are listed sorted (as deterministic encoding orders them).
import type { JsonObject } from '@bufbuild/protobuf'

const dimension = (d: number | '?'): JsonObject =>
  d === '?' ? { unknown: {} } : { constant: { size: String(d) } }

/** A ValueType holding a tensor type; rank and dimensions omitted for scalars, as proto3 JSON does. */
const tensorType = (dataType: string, dims: (number | '?')[]): JsonObject => {
  const t: JsonObject = { dataType }
  if (dims.length) {
    t.rank = String(dims.length)
    t.dimensions = dims.map(dimension)
  }
  return { tensorType: t }
}

const tensor = (dataType: string, dims: number[], value: JsonObject): JsonObject => ({
  type: tensorType(dataType, dims),
  immediateValue: { tensor: value },
})

const str = (s: string): JsonObject => tensor('STRING', [], { strings: { values: [s] } })

const array = (dataType: string, shape: number[], rest: JsonObject = {}): JsonObject => ({
  multiArrayType: { shape: shape.map(String), dataType, ...rest },
})

const feature = (name: string, type: JsonObject, shortDescription?: string): JsonObject => ({
  name,
  ...(shortDescription ? { shortDescription } : {}),
  type,
})

const range = (lower: number, upper: number): JsonObject => ({
  lowerBound: String(lower),
  upperBound: String(upper),
})

const description: JsonObject = {
  input: [
    feature(
      'x',
      array('FLOAT16', [1, 64], {
        shapeRange: { sizeRanges: [range(1, 1), range(1, -1)] },
        intDefaultValue: 3,
      }),
      'the input',
    ),
    feature(
      'y',
      array('FLOAT32', [2], {
        enumeratedShapes: { shapes: [{ shape: ['2'] }, { shape: ['4'] }] },
        floatDefaultValue: 0.5,
      }),
    ),
    feature('z', array('DOUBLE', [1], { doubleDefaultValue: 0.25 })),
    feature('img', {
      imageType: {
        width: '8',
        height: '4',
        colorSpace: 'RGB',
        enumeratedSizes: { sizes: [{ width: '8', height: '4' }] },
      },
    }),
    feature('img2', {
      imageType: {
        colorSpace: 'GRAYSCALE_FLOAT16',
        imageSizeRange: { widthRange: range(1, 8), heightRange: range(2, -1) },
      },
      isOptional: true,
    }),
  ],
  output: [
    feature('i', array('INT32', [3])),
    feature('i8', array('INT8', [3])),
    feature('d', { doubleType: {} }),
    feature('n', { int64Type: {} }),
    feature('s', { stringType: {} }),
    feature('m', { dictionaryType: { stringKeyType: {} } }),
    feature('m2', { dictionaryType: { int64KeyType: {} } }),
    feature('q', { sequenceType: { int64Type: {}, sizeRange: range(1, 10) } }),
    feature('q2', { sequenceType: { stringType: {} } }),
  ],
  predictedFeatureName: 'i',
  predictedProbabilitiesName: 'm',
  state: [
    feature('kv', { stateType: { arrayType: { shape: ['1', '8', '64'], dataType: 'FLOAT16' } } }),
  ],
  functions: [
    {
      name: 'main',
      input: [feature('x', array('FLOAT16', [1, 64]))],
      output: [feature('out', array('FLOAT16', [1, 32]))],
      predictedFeatureName: 'out',
      predictedProbabilitiesName: 'p',
      state: [feature('kv', { stateType: { arrayType: { shape: ['1'], dataType: 'FLOAT16' } } })],
    },
  ],
  defaultFunctionName: 'main',
  trainingInput: [feature('t', array('FLOAT32', [1]))],
  metadata: {
    shortDescription: 'every field',
    versionString: '1.0',
    author: 'anemll tests',
    license: 'MIT',
    userDefined: {
      'com.anemll.context_length': '512',
      'com.github.apple.coremltools.version': '9.0',
    },
  },
}

const value = {
  floats: tensor('FLOAT32', [2], { floats: { values: [1.5, -0.1] } }),
  ints: tensor('INT32', [3], { ints: { values: [1, -2, 2147483647] } }),
  bools: tensor('BOOL', [2], { bools: { values: [true, false] } }),
  longInts: tensor('INT64', [2], {
    longInts: { values: ['-9223372036854775808', '9223372036854775807'] },
  }),
  doubles: tensor('FLOAT64', [1], { doubles: { values: [1e-300] } }),
  bytes: tensor('UINT4', [5], { bytes: { values: 'IUMF' } }), // 21 43 05: uint4 [1,2,3,4,5]
}

const block: JsonObject = {
  inputs: [{ name: 'i', type: tensorType('INT32', []) }],
  outputs: ['out', 'out2'],
  operations: [
    {
      type: 'const',
      attributes: {
        name: str('w'),
        val: {
          type: tensorType('FLOAT16', [32, 64]),
          blobFileValue: { fileName: '@model_path/weights/weight.bin', offset: '64' },
        },
      },
      outputs: [{ name: 'w', type: tensorType('FLOAT16', [32, 64]) }],
    },
    {
      type: 'while_loop',
      inputs: {
        loop_vars: { arguments: [{ name: 'x' }, { value: value.ints }] },
        x: { arguments: [{ value: value.floats }] },
      },
      outputs: [
        { name: 'out', type: tensorType('FLOAT16', [1, '?']) },
        {
          name: 'out2',
          type: {
            listType: { type: tensorType('FLOAT16', [2]), length: { unknown: { variadic: true } } },
          },
        },
      ],
      blocks: [{ outputs: ['x'], attributes: { note: str('nested') } }],
      attributes: {
        bools: value.bools,
        bytes: value.bytes,
        dict: {
          type: {
            dictionaryType: {
              keyType: tensorType('STRING', []),
              valueType: tensorType('INT64', []),
            },
          },
          immediateValue: { dictionary: { values: [{ key: str('k'), value: value.longInts }] } },
        },
        doubles: value.doubles,
        list: {
          type: { listType: { type: tensorType('STRING', []) } },
          immediateValue: { list: { values: [str('a'), str('b')] } },
        },
        longInts: value.longInts,
        name: str('loop'),
        tuple: {
          type: { tupleType: { types: [tensorType('STRING', []), tensorType('BOOL', [2])] } },
          immediateValue: { tuple: { values: [str('t'), value.bools] } },
        },
      },
    },
  ],
  attributes: { note: str('block') },
}

const stateInput = { stateType: { wrappedType: tensorType('FLOAT16', [1, 8, 64]) } }

// Every MIL DataType, on function inputs (unused by the program; only the encoding matters).
const DTYPES =
  'BOOL STRING FLOAT16 FLOAT32 FLOAT64 BFLOAT16 INT8 INT16 INT32 INT64 INT4 UINT8 UINT16 UINT32 UINT64 UINT4 UINT2 UINT1 UINT6 UINT3 FLOAT8E4M3FN FLOAT8E5M2'

export const KITCHEN_SINK: JsonObject = {
  specificationVersion: 9,
  description,
  isUpdatable: true,
  mlProgram: {
    version: '1',
    functions: {
      main: {
        inputs: [
          { name: 'x', type: tensorType('FLOAT16', [1, 64]) },
          { name: 'kv', type: stateInput },
          ...DTYPES.split(' ').map((d) => ({
            name: `in_${d.toLowerCase()}`,
            type: tensorType(d, [2]),
          })),
          {
            name: 'attr',
            type: {
              tensorType: {
                dataType: 'FLOAT32',
                rank: '-1',
                attributes: { note: str('tensor type attribute') },
              },
            },
          },
        ],
        opset: 'CoreML8',
        blockSpecializations: { CoreML8: block },
        attributes: { note: str('function') },
      },
    },
    docString: 'docs',
    attributes: {
      buildInfo: {
        docString: 'value doc',
        type: {
          dictionaryType: {
            keyType: tensorType('STRING', []),
            valueType: tensorType('STRING', []),
          },
        },
        immediateValue: {
          dictionary: { values: [{ key: str('coremltools-version'), value: str('9.0') }] },
        },
      },
    },
  },
}
