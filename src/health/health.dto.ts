export class HealthDto {
  /** @example ok */
  status!: string;
}

export class ReadinessDto extends HealthDto {
  /** Status of the DynamoDB table. @example ACTIVE */
  table!: string;
}
