/** Unit tests of the pure modules (panel model, cell lookup, annotations, formatting). */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.test.json' }]
  },
  testRegex: '\\.test\\.ts$',
  moduleFileExtensions: ['ts', 'js', 'json']
};
